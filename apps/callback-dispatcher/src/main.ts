import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { JetStreamServer } from '@ciba/messaging';
import { CoreModule, busTopology, createHttpApp, jetStreamBus, listen, runService } from '@ciba/platform';
import { CallbackDispatcherModule } from '@ciba/service-callback-dispatcher';

/** The callback dispatcher: the `callback-dispatcher` JetStream consumer delivering ping and push results. */
await runService(async () => {
  const config = loadConfig(process.env, 'callback-dispatcher', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), CallbackDispatcherModule] })
  class CallbackDispatcherApp {}
  const app = await createHttpApp(CallbackDispatcherApp, config);
  app.connectMicroservice(
    {
      strategy: new JetStreamServer({
        servers: [...config.nats.servers],
        consumers: ['callback-dispatcher'],
        name: 'ciba-callback-dispatcher',
        topology: busTopology(config),
        maxInFlight: config.nats.concurrency,
      }),
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  return { app, url: await listen(app, config) };
});
