import { type Server, createServer } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '../di/tokens.js';
import { ProviderMetrics } from './provider-metrics.js';

export const METRICS_PATH = '/metrics';
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts and times every request once its response has finished, under the route pattern Express
 * matched (`/approve/:token`, never the token itself); a request no route matched — or only Nest's
 * catch-all not-found route (`{/*splat}`) — is `unmatched`, so that scanning random paths cannot grow
 * the series.
 */
export function httpMetricsMiddleware(metrics: ProviderMetrics): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (req.path === METRICS_PATH) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      metrics.httpRequest(
        METHODS.has(req.method) ? req.method : 'OTHER',
        typeof route === 'string' && !route.includes('*') ? `${req.baseUrl}${route}` : 'unmatched',
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  };
}

/** `GET /metrics` on the service's own port (when no separate metrics port is configured). */
export function metricsHandler(metrics: ProviderMetrics): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (req.path !== METRICS_PATH) {
      next();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('Allow', 'GET, HEAD').json({ error: 'invalid_request', error_description: 'metrics are read with GET' });
      return;
    }
    metrics.scrape().then(
      (text) => res.status(200).set('Content-Type', CONTENT_TYPE).set('Cache-Control', 'no-store').send(text),
      next,
    );
  };
}

/**
 * `/metrics` on a port of its own (`CIBA_METRICS_PORT`), for a scraper the public port's network
 * policy does not admit. Only `GET /metrics` is answered there.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MetricsServer');
  private server: Server | null = null;

  constructor(
    private readonly metrics: ProviderMetrics,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.metrics.port;
    if (port === null) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(path === METRICS_PATH ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' }).end();
        return;
      }
      this.metrics.scrape().then(
        (text) => res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Cache-Control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => {
          this.logger.error({ err }, 'metrics scrape failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.config.http.host, () => resolve());
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
