import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers as node:http, fetch's `Headers` or a plain object give them. */
export type PingHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A ping as it reached the app: its headers and body (parsed JSON, or the raw text/bytes). */
export interface PingRequest {
  readonly headers: PingHeaders;
  readonly body: unknown;
}

/** What to answer the provider: `status`, headers, and a JSON body for errors. */
export interface PingResponse {
  readonly status: 204 | 400 | 401 | 413 | 415;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A registration made by `requestApproval` in ping mode: the token to send and a promise of the ping. */
export interface PingExpectation {
  readonly clientNotificationToken: string;
  /** Resolves when an authentic ping for this request arrived (at most once). */
  readonly pinged: Promise<void>;
  /** Call once the provider returned the `auth_req_id`: a ping must name it (CIBA §10.2). */
  bind(authReqId: string): void;
  /** Stop listening; a later ping with this token is answered 401. */
  cancel(): void;
}

/** The largest ping body accepted: `{"auth_req_id": "…"}` is well under 1 KiB. */
export const MAX_PING_BODY_BYTES = 4096;

interface Waiter {
  readonly digest: Buffer;
  authReqId: string | null;
  /** Ping bodies that came before the auth_req_id was known (a fast provider), checked on bind. */
  readonly early: string[];
  wake(): void;
}

/**
 * The client notification endpoint of a ping-mode client (CIBA §10.2), framework-free: mount
 * {@link PingReceiver.handle} (or {@link PingReceiver.nodeHandler}) on the URL registered as the
 * client's `backchannel_client_notification_endpoint`. A ping whose bearer token matches a waiting
 * request's `client_notification_token` (compared in constant time) and names its `auth_req_id`
 * wakes that `requestApproval`, which then polls the token endpoint once.
 */
export class PingReceiver {
  private readonly waiters = new Set<Waiter>();

  /** Registers a request about to be sent; used by `requestApproval`, rarely needed directly. */
  expect(): PingExpectation {
    // 256 bits: the token is the only thing that authenticates the provider's ping (§7.1 "bearer token").
    const token = randomBytes(32).toString('base64url');
    let wake!: () => void;
    const pinged = new Promise<void>((resolve) => (wake = resolve));
    const waiter: Waiter = { digest: digest(token), authReqId: null, early: [], wake };
    this.waiters.add(waiter);
    return {
      clientNotificationToken: token,
      pinged,
      bind: (authReqId) => {
        waiter.authReqId = authReqId;
        if (waiter.early.includes(authReqId)) waiter.wake();
        waiter.early.length = 0;
      },
      cancel: () => void this.waiters.delete(waiter),
    };
  }

  /** How many requests are waiting for a ping. */
  get pending(): number {
    return this.waiters.size;
  }

  /**
   * Answers one ping: 204 when it woke a waiting request; 401 for a missing or unknown bearer token;
   * 400 for a body that is not `{"auth_req_id": "<the request's id>"}`. Never throws.
   */
  handle(request: PingRequest): PingResponse {
    const token = bearerToken(header(request.headers, 'authorization'));
    const waiter = token === null ? undefined : this.find(token);
    if (!waiter) {
      return {
        status: 401,
        headers: { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: JSON.stringify({ error: 'invalid_token', error_description: 'the bearer token is not a client_notification_token of a waiting request' }),
      };
    }
    const parsed = parseBody(request.body, header(request.headers, 'content-type'));
    if (!parsed.ok) return errorResponse(parsed.status, parsed.description);
    const authReqId = parsed.value['auth_req_id'];
    if (typeof authReqId !== 'string' || authReqId.length === 0) return errorResponse(400, 'the body must be a JSON object with an auth_req_id string');
    if (waiter.authReqId === null) {
      // The provider may ping before its bc-authorize answer reached us; keep a few ids to check later.
      if (waiter.early.length < 4) waiter.early.push(authReqId);
      return { status: 204, headers: {} };
    }
    if (!sameString(authReqId, waiter.authReqId)) return errorResponse(400, 'auth_req_id does not match the request this token was issued for');
    waiter.wake();
    return { status: 204, headers: {} };
  }

  /** A node:http request listener for `handle` (reads at most {@link MAX_PING_BODY_BYTES} of body). */
  nodeHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const reply = (answer: PingResponse) => {
        if (!res.headersSent) res.writeHead(answer.status, answer.headers).end(answer.body);
      };
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request', error_description: 'use POST' }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        if (tooLarge) return;
        size += chunk.length;
        if (size > MAX_PING_BODY_BYTES) {
          // Answer now and read the rest into nothing; the connection closes after the answer.
          tooLarge = true;
          chunks.length = 0;
          res.setHeader('connection', 'close');
          reply(errorResponse(413, `the body exceeds ${MAX_PING_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!tooLarge) reply(this.handle({ headers: req.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', () => res.destroy());
    };
  }

  private find(token: string): Waiter | undefined {
    const presented = digest(token);
    let found: Waiter | undefined;
    // Compare with every waiter, without stopping at a match, so timing says nothing about which token was close.
    for (const waiter of this.waiters) if (timingSafeEqual(presented, waiter.digest)) found = waiter;
    return found;
  }
}

/** SHA-256 first: equal-length buffers for timingSafeEqual, whatever length the presented token has. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sameString(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

function header(headers: PingHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? undefined : (value as string | undefined);
}

function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  return match ? match[1] : null;
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; status: 400 | 413 | 415; description: string };

function parseBody(body: unknown, contentType: string | undefined): Parsed {
  let value: unknown = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) return { ok: false, status: 415, description: 'the body must be application/json' };
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    if (Buffer.byteLength(text, 'utf8') > MAX_PING_BODY_BYTES) return { ok: false, status: 413, description: `the body exceeds ${MAX_PING_BODY_BYTES} bytes` };
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, status: 400, description: 'the body is not valid JSON' };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, status: 400, description: 'the body must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

function errorResponse(status: 400 | 413 | 415, description: string): PingResponse {
  const error = 'invalid_request';
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ error, error_description: description }) };
}
