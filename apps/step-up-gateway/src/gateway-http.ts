import type { IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { request as upstreamRequest } from 'undici';
import type { TypeOrmStepUpApprovalRepository } from '@ciba/persistence';
import type { Policy } from './policy/policy.js';
import { type Decision, type MatchedRoute, type StepUpGateway, digest } from './step-up.js';

/** The gateway's own paths; everything else is proxied. */
export const FORWARD_AUTH_PATH = '/auth';
export const APPROVAL_STATUS_PREFIX = '/step-up/approvals/';
const OWN_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** RFC 9110 §7.6.1 connection-specific fields, and the ones a proxy sets itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

class BodyTooLarge extends Error {}

/**
 * The forward-auth endpoint (nginx `auth_request`, Traefik ForwardAuth, Envoy `ext_authz` HTTP):
 * the original method and URI come from the configured headers (`X-Original-Method`,
 * `X-Original-URI`), or else from the request itself below `/auth` (Envoy's `path_prefix`). The
 * answer is 200 — with the header to inject upstream (`Authorization: Bearer <new token>`) when a
 * step-up approval lets the request through — or 401/403 with the step-up challenge or refusal.
 * No body reaches a forward-auth check, so its fingerprint covers the method and URI only.
 */
export function forwardAuthHandler(gateway: StepUpGateway, policy: Policy): (req: Request, res: Response, next: NextFunction) => void {
  const logger = new Logger('ForwardAuth');
  return (req, res, next) => {
    if (req.path !== FORWARD_AUTH_PATH && !req.path.startsWith(`${FORWARD_AUTH_PATH}/`)) {
      next();
      return;
    }
    const method = headerValue(req.headers, policy.forwardAuth.methodHeader) ?? req.method;
    const uriHeader = headerValue(req.headers, policy.forwardAuth.uriHeader);
    const url = uriHeader ?? (req.originalUrl.slice(FORWARD_AUTH_PATH.length) || '/');
    if (!/^[A-Z]{1,16}$/i.test(method) || !url.startsWith('/')) {
      answer(res, { kind: 'refuse', status: 400, headers: {}, body: { error: 'invalid_request', error_description: `${policy.forwardAuth.methodHeader} and ${policy.forwardAuth.uriHeader} must name a method and an absolute path` } });
      return;
    }
    const request = { method: method.toUpperCase(), url, authorization: req.headers.authorization, bodyDigest: null };
    gateway
      .decide(request, gateway.match(request.method, url))
      .then((decision) => {
        if (decision.kind === 'refuse') answer(res, decision);
        else {
          res.status(200).set(NO_STORE);
          if (decision.kind === 'allow') res.set(decision.header.name, decision.header.value);
          res.end();
        }
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'forward-auth check failed');
        answer(res, { kind: 'refuse', status: 503, headers: { 'Retry-After': '5' }, body: { error: 'temporarily_unavailable', error_description: 'the step-up check failed; retry later' } });
      });
  };
}

/** `GET /step-up/approvals/:id`: where a pending approval stands (the `Link: rel="status"` of a challenge). */
export function approvalStatusHandler(approvals: TypeOrmStepUpApprovalRepository): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    if (!req.path.startsWith(APPROVAL_STATUS_PREFIX)) {
      next();
      return;
    }
    const id = req.path.slice(APPROVAL_STATUS_PREFIX.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set({ Allow: 'GET, HEAD', ...NO_STORE }).json({ error: 'invalid_request', error_description: 'approval status is read with GET' });
      return;
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
      res.status(404).set(NO_STORE).json({ error: 'not_found', error_description: 'no such approval' });
      return;
    }
    approvals.find(id).then(
      (approval) => {
        if (!approval) res.status(404).set(NO_STORE).json({ error: 'not_found', error_description: 'no such approval' });
        else res.status(200).set(NO_STORE).json({ approval: approval.id, status: approval.status, route: approval.routeId });
      },
      (err: unknown) => next(err),
    );
  };
}

/**
 * The reverse proxy: every request outside the gateway's own paths is decided on, then streamed
 * to the route's upstream (or the policy's) with undici, the new access token injected when a
 * step-up approval let it through. A route that fingerprints requests has its body read first
 * (at most `maxBodyBytes`) to hash it; otherwise the body streams through unread.
 */
export function reverseProxyHandler(gateway: StepUpGateway, policy: Policy): (req: Request, res: Response, next: NextFunction) => void {
  const logger = new Logger('ReverseProxy');
  return (req, res, next) => {
    if (OWN_PATHS.has(req.path)) {
      next();
      return;
    }
    const url = req.originalUrl;
    const matched = gateway.match(req.method, url);
    proxy(gateway, policy, matched, req, res).catch((err: unknown) => {
      if (err instanceof BodyTooLarge) {
        answer(res, { kind: 'refuse', status: 413, headers: {}, body: { error: 'invalid_request', error_description: `the request body exceeds ${policy.maxBodyBytes} bytes` } });
        return;
      }
      logger.warn({ err, route: matched?.route.id ?? null }, 'proxied request failed');
      if (!res.headersSent) answer(res, { kind: 'refuse', status: 502, headers: {}, body: { error: 'bad_gateway', error_description: 'the upstream service could not be reached' } });
      else res.destroy();
    });
  };
}

async function proxy(gateway: StepUpGateway, policy: Policy, matched: MatchedRoute | null, req: Request, res: Response): Promise<void> {
  const fingerprinted = matched?.route.cibaEnabled === true && matched.route.fingerprint;
  const body = fingerprinted ? await readBody(req, policy.maxBodyBytes) : null;
  const decision = await gateway.decide(
    { method: req.method, url: req.originalUrl, authorization: req.headers.authorization, bodyDigest: body === null ? null : digest(body) },
    matched,
  );
  if (decision.kind === 'refuse') {
    answer(res, decision);
    req.resume();
    return;
  }
  const upstream = matched?.route.upstream ?? policy.upstream;
  if (upstream === undefined) {
    answer(res, { kind: 'refuse', status: 502, headers: {}, body: { error: 'bad_gateway', error_description: 'no upstream is configured for this route' } });
    req.resume();
    return;
  }
  const headers = forwardedHeaders(req, decision);
  const hasBody = body !== null ? body.length > 0 : req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
  const target = new URL(req.originalUrl, `${upstream.replace(/\/$/, '')}/`);
  // The upstream's own path prefix stays in front of the request's path.
  target.pathname = `${new URL(upstream).pathname.replace(/\/$/, '')}${req.path}`;
  const answerUpstream = await upstreamRequest(target, {
    method: req.method as 'GET',
    headers,
    body: hasBody ? (body ?? req) : undefined,
    headersTimeout: 30_000,
    bodyTimeout: 60_000,
  });
  res.status(answerUpstream.statusCode);
  for (const [name, value] of Object.entries(answerUpstream.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name.toLowerCase())) res.setHeader(name, value);
  }
  await pipeline(answerUpstream.body, res);
}

function forwardedHeaders(req: Request, decision: Decision): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const connectionListed = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.has(name)) continue;
    headers[name] = value;
  }
  if (decision.kind === 'allow') {
    // The subject token stops here: upstream sees only the token the user's approval produced.
    delete headers['authorization'];
    headers[decision.header.name.toLowerCase()] = decision.header.value;
  }
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${String(prior)}, ${remote}` : remote;
  headers['x-forwarded-proto'] = req.protocol;
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

async function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function answer(res: Response, decision: Extract<Decision, { kind: 'refuse' }>): void {
  res.status(decision.status).set({ ...NO_STORE, ...decision.headers }).json(decision.body);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
