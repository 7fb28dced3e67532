import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request } from 'express';
import { Logger } from 'nestjs-pino';
import type { ProviderConfig } from '@ciba/config';
import { ReadinessRegistry } from '../health/health.js';

/** Express with the body parsers protocol endpoints need, pino logs, and graceful shutdown. */
export async function createHttpApp(rootModule: unknown, config: ProviderConfig): Promise<NestExpressApplication> {
  // abortOnError: false lets a start-up error reach runService (a configuration error exits 78).
  const app = await NestFactory.create<NestExpressApplication>(rootModule as never, { bufferLogs: true, bodyParser: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // Protocol responses are never cached (no-store); hashing every body for an ETag is wasted work.
  app.set('etag', false);
  if (config.http.trustProxy) app.set('trust proxy', true);
  // extended: false keeps repeated parameters as arrays, so duplicates can be rejected (CIBA §7.1).
  app.useBodyParser('urlencoded', { extended: false, limit: '64kb', parameterLimit: 100 });
  app.useBodyParser('json', { limit: '64kb' });
  return app;
}

/**
 * Listen, and shut down gracefully on SIGTERM / SIGINT: stop advertising readiness, let Nest close
 * the server, the bus consumers and the connections (every OnApplicationShutdown hook), then exit 0.
 * A shutdown that takes longer than `shutdownTimeoutMs` exits 1.
 */
export async function listen(app: NestExpressApplication, config: ProviderConfig): Promise<string> {
  const readiness = app.get(ReadinessRegistry);
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    readiness.markShuttingDown();
    const logger = app.get(Logger);
    logger.log(`shutting down on ${signal}`);
    const deadline = setTimeout(() => {
      logger.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms`);
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
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
  await app.listen(config.http.port, config.http.host);
  return app.getUrl();
}

/** The correlation id pino-http assigned to this request. */
export function requestCorrelationId(req: Request): string | null {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
}
