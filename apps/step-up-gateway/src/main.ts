import 'reflect-metadata';
import { listen, runService } from '@ciba/platform';
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
  const url = await listen(app, { http: { host: config.host, port: config.port }, shutdownTimeoutMs: config.shutdownTimeoutMs });
  return { app, url };
});
