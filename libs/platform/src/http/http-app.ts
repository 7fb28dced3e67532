import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request } from 'express';
import { Logger } from 'nestjs-pino';
import type { ProviderConfig } from '@ciba/config';
import { ReadinessRegistry } from '../health/health.js';
import { httpMetricsMiddleware, metricsHandler } from '../metrics/metrics-http.js';
import { ProviderMetrics } from '../metrics/provider-metrics.js';
import { FallbackExceptionFilter, HtmlErrorPages } from './oauth-exception.filter.js';
import { useRequestBodyParsers } from './request-bodies.js';

/**
 * Express with the body parsers protocol endpoints need (refusing bodies that are not UTF-8 text),
 * errors outside controllers in the OAuth format (or a page's own, see `HtmlErrorPages`), pino
 * logs, request metrics and `/metrics` (here unless `CIBA_METRICS_PORT` moves it), and graceful
 * shutdown.
 */
export async function createHttpApp(rootModule: unknown, config: ProviderConfig): Promise<NestExpressApplication> {
  // abortOnError: false lets a start-up error reach runService (a configuration error exits 78).
  const app = await NestFactory.create<NestExpressApplication>(rootModule as never, { bufferLogs: true, bodyParser: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // Protocol responses are never cached (no-store); hashing every body for an ETag is wasted work.
  app.set('etag', false);
  // Express's own rule for which peers' X-Forwarded-For is believed (a hop count, CIDRs, or every peer).
  const { trustProxy } = config.http;
  if (trustProxy !== false) app.set('trust proxy', typeof trustProxy === 'object' ? [...trustProxy] : trustProxy);
  const metrics = app.get(ProviderMetrics);
  app.use(httpMetricsMiddleware(metrics));
  if (config.metrics.port === null) app.use(metricsHandler(metrics));
  useRequestBodyParsers(app);
  app.useGlobalFilters(new FallbackExceptionFilter(app.get(HtmlErrorPages)));
  answerUnparsableRequests(app.getHttpServer());
  return app;
}

/**
 * Listen, and shut down gracefully on SIGTERM / SIGINT: stop advertising readiness, let Nest close
 * the server, the bus consumers and the connections (every OnApplicationShutdown hook), then exit 0.
 * A shutdown that takes longer than `shutdownTimeoutMs` exits 1.
 */
export async function listen(
  app: NestExpressApplication,
  config: { readonly http: Pick<ProviderConfig['http'], 'host' | 'port'>; readonly shutdownTimeoutMs: number },
): Promise<string> {
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

/**
 * Requests Node's HTTP parser refuses (a control character in a header, headers too large) never
 * reach Express; they too are answered in the OAuth error format rather than a bare status line.
 */
function answerUnparsableRequests(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, description] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'request headers too large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request timeout'] : [400, 'the request could not be parsed'];
    const body = JSON.stringify({ error: 'invalid_request', error_description: description });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** The correlation id pino-http assigned to this request. */
export function requestCorrelationId(req: Request): string | null {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
}
