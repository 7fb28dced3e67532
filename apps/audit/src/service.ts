import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { loadConfig } from '@ciba/config';
import { CoreModule, createHttpApp, jetStreamBus, listen, runService, startJetStreamConsumers } from '@ciba/platform';
import { AuditApiModule, AuditModule } from '@ciba/service-audit';

/** The audit service: the `audit` JetStream consumer of every lifecycle event; its signing keys sign the audit chain's checkpoints. */
await runService(async () => {
  const config = loadConfig(process.env, 'audit', ['database', 'nats', 'keys']);
  @Module({ imports: [CoreModule.forRoot(config, { keys: true, bus: jetStreamBus(config) }), AuditModule, AuditApiModule] })
  class AuditApp {}
  const app = await createHttpApp(AuditApp, config);
  await startJetStreamConsumers(app, config, ['audit']);
  return { app, url: await listen(app, config) };
});
