import { ConfigError, type ServiceName, loadTracingConfig } from '@ciba/config';
import { installTracing } from './flow-tracing.js';

/**
 * The first thing a service's entry point does (`@ciba/platform/tracing`, apart from the rest of the
 * platform so that nothing it patches is loaded before it): when an OTLP endpoint is configured, load
 * and start OpenTelemetry and make it the process's tracing; otherwise load none of it. A malformed
 * `OTEL_*` setting exits 78 (EX_CONFIG), as any configuration error does.
 */
export async function startTracing(service: ServiceName, env: Record<string, string | undefined> = process.env): Promise<void> {
  let config;
  try {
    config = loadTracingConfig(env, service);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  if (config === null) return;
  const { startOpenTelemetry } = await import('./open-telemetry.js');
  installTracing(await startOpenTelemetry(config));
}
