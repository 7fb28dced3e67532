import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { JetStreamServer } from '@ciba/messaging';
import { CoreModule, busTopology, createHttpApp, jetStreamBus, listen, runService } from '@ciba/platform';
import { AuditModule } from '@ciba/service-audit';

/** The audit service: the `audit` JetStream consumer of every lifecycle event. */
await runService(async () => {
  const config = loadConfig(process.env, 'audit', ['database', 'nats']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: false, bus: jetStreamBus(config) }), AuditModule] })
  class AuditApp {}
  const app = await createHttpApp(AuditApp, config);
  app.connectMicroservice({ strategy: new JetStreamServer({ servers: [...config.nats.servers], consumers: ['audit'], name: 'ciba-audit', topology: busTopology(config), maxInFlight: config.nats.concurrency }) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  return { app, url: await listen(app, config) };
});
