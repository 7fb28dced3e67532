import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { JetStreamServer } from '@ciba/messaging';
import { CoreModule, busTopology, createHttpApp, jetStreamBus, listen, runService } from '@ciba/platform';
import { NotifierModule } from '@ciba/service-notifier';

/** The notifier service: the `notifier` JetStream consumer, the device callback and the expiry sweeper. */
await runService(async () => {
  const config = loadConfig(process.env, 'notifier', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), NotifierModule] })
  class NotifierApp {}
  const app = await createHttpApp(NotifierApp, config);
  app.connectMicroservice({ strategy: new JetStreamServer({ servers: [...config.nats.servers], consumers: ['notifier'], name: 'ciba-notifier', topology: busTopology(config), maxInFlight: config.nats.concurrency }) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return { app, url: await listen(app, config) };
});
