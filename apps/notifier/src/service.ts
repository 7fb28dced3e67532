import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { CoreModule, createHttpApp, jetStreamBus, listen, runService, startJetStreamConsumers } from '@ciba/platform';
import { NotifierModule } from '@ciba/service-notifier';

/**
 * The notifier service: the `notifier` JetStream consumer (sign-in requests), the `notifier-devices`
 * consumer (new-device announcements), the device callback, the pages and the expiry sweeper.
 */
await runService(async () => {
  const config = loadConfig(process.env, 'notifier', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), NotifierModule.forRoot()] })
  class NotifierApp {}
  const app = await createHttpApp(NotifierApp, config);
  await startJetStreamConsumers(app, config, ['notifier', 'notifier-devices']);
  return { app, url: await listen(app, config) };
});
