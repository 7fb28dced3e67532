import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { CoreModule, createHttpApp, jetStreamBus, listen, runService, startJetStreamConsumers } from '@ciba/platform';
import { CallbackDispatcherModule } from '@ciba/service-callback-dispatcher';

/** The callback dispatcher: the `callback-dispatcher` JetStream consumer delivering ping and push results. */
await runService(async () => {
  const config = loadConfig(process.env, 'callback-dispatcher', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), CallbackDispatcherModule] })
  class CallbackDispatcherApp {}
  const app = await createHttpApp(CallbackDispatcherApp, config);
  await startJetStreamConsumers(app, config, ['callback-dispatcher']);
  return { app, url: await listen(app, config) };
});
