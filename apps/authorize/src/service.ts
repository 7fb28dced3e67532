import 'reflect-metadata';
import { loadConfig } from '@ciba/config';
import { Module } from '@nestjs/common';
import { CoreModule, createHttpApp, jetStreamBus, listen, runService } from '@ciba/platform';
import { AuthorizeModule } from '@ciba/service-authorize';

/** The authorize service: backchannel authentication endpoint, discovery, JWKS. */
await runService(async () => {
  const config = loadConfig(process.env, 'authorize', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), AuthorizeModule] })
  class AuthorizeApp {}
  const app = await createHttpApp(AuthorizeApp, config);
  return { app, url: await listen(app, config) };
});
