import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { ReadinessRegistry, runService } from '@ciba/platform';
import { createGatewayApp } from './gateway-app.js';
import { loadGatewayConfig } from './gateway-config.js';
import { loadPolicyFile } from './policy/policy.js';

/**
 * The CIBA step-up gateway: a reverse proxy and forward-auth service putting CIBA approvals in
 * front of existing APIs. Shuts down like the provider's services: on SIGTERM / SIGINT it stops
 * advertising readiness, closes (the poller finishes its round, audit reports drain) and exits 0.
 */
await runService(async () => {
  const config = loadGatewayConfig(process.env);
  const policy = await loadPolicyFile(config.policyFile);
  const app = await createGatewayApp(config, policy);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(ReadinessRegistry).markShuttingDown();
    const logger = app.get(Logger);
    logger.log(`shutting down on ${signal}`);
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms`);
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await app.listen(config.port, config.host);
  return { app, url: await app.getUrl() };
});
