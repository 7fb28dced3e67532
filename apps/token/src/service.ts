import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { CoreModule, createHttpApp, jetStreamBus, listen, runService } from '@ciba/platform';
import { TokenModule } from '@ciba/service-token';

/** The token service: CIBA grant and refresh_token. */
await runService(async () => {
  const config = loadConfig(process.env, 'token', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), TokenModule] })
  class TokenApp {}
  const app = await createHttpApp(TokenApp, config);
  return { app, url: await listen(app, config) };
});
