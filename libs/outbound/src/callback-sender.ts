import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import { B64TOKEN } from '@ciba/protocol';
import { outcomeForError, outcomeForStatus, permanent, retryable } from './delivery-outcome.js';
import type { DeliveryOutcome } from './delivery-outcome.js';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';
import type { EndpointPolicy, ResolvedAddress } from './endpoint-policy.js';
import { pinnedLookup } from './pinned-lookup.js';

const importUndici = () => import('undici');
type Undici = Awaited<ReturnType<typeof importUndici>>;
let undiciModule: Promise<Undici> | undefined;
/** undici is imported by the first sender built: services that send no callback never load it. */
function loadUndici(): Promise<Undici> {
  undiciModule ??= importUndici();
  return undiciModule;
}

export interface CallbackSenderOptions {
  readonly policy: EndpointPolicy;
  /** TCP connect plus TLS handshake. */
  readonly connectTimeoutMs?: number;
  /** Waiting for the response headers, and then for the (discarded) body. */
  readonly responseTimeoutMs?: number;
  /** Extra trusted CA certificate(s), PEM, on top of Node's root store: private PKI, tests. */
  readonly ca?: string | Buffer;
  readonly userAgent?: string;
  /** How many (host, pinned addresses) connection pools are kept alive; the least recently used is closed. */
  readonly maxPools?: number;
  /** Concurrent connections per pool. */
  readonly maxConnectionsPerPool?: number;
  /** Wall clock, for Retry-After given as an HTTP-date. */
  readonly now?: () => number;
}

/** The endpoint's answer is read only so the connection can be reused; nothing needs more than this. */
const RESPONSE_BODY_LIMIT_BYTES = 64 * 1024;

interface Pool {
  readonly agent: Agent;
  inFlight: number;
  retired: boolean;
}

function closeQuietly(agent: Agent): Promise<void> {
  // Closing waits for requests in flight; a failure to close an idle pool is not worth a crash.
  return agent.close().catch(() => undefined);
}

/** Reads and drops up to the limit, within the deadline; the status already decided the outcome. */
async function discardBody(body: Dispatcher.ResponseData['body'], timeoutMs: number): Promise<void> {
  const timer = setTimeout(() => body.destroy(), timeoutMs);
  try {
    await body.dump({ limit: RESPONSE_BODY_LIMIT_BYTES });
  } catch {
    // A broken or oversized body after the status line changes nothing: the endpoint has answered.
  } finally {
    clearTimeout(timer);
  }
}

/**
 * POSTs a JSON notification to a client's endpoint (CIBA §10.2 ping, §10.3 push) and says what
 * came of it, once: the caller owns retrying (see `nextDeliveryStep`), metrics and logging.
 *
 * Before each attempt the endpoint is checked against the policy and its host resolved; the
 * connection then goes only to those checked addresses (a pinned lookup), while the Host header
 * and TLS SNI stay the host name so the certificate is validated as usual. Redirects are never
 * followed. Connections are kept alive per (host, checked addresses), in a bounded pool set.
 */
export class CallbackSender {
  private readonly policy: EndpointPolicy;
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly ca: (string | Buffer)[] | undefined;
  private readonly userAgent: string | undefined;
  private readonly maxPools: number;
  private readonly maxConnectionsPerPool: number;
  private readonly now: () => number;
  /** Insertion order is recency order: a hit is re-inserted at the end. */
  private readonly pools = new Map<string, Pool>();
  private closed = false;

  constructor(options: CallbackSenderOptions) {
    this.policy = options.policy;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    // Node's `ca` replaces the root store; an extra CA must be added to it, not swapped in.
    this.ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca];
    this.userAgent = options.userAgent;
    this.maxPools = options.maxPools ?? 64;
    this.maxConnectionsPerPool = options.maxConnectionsPerPool ?? 64;
    this.now = options.now ?? Date.now;
    loadUndici().catch(() => undefined);
  }

  async post(url: string, body: unknown, bearerToken: string): Promise<DeliveryOutcome> {
    if (this.closed) throw new Error('CallbackSender is closed');
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    if (!B64TOKEN.test(bearerToken)) return permanent('invalid_bearer_token', elapsed());

    let target: URL;
    let addresses: ResolvedAddress[];
    try {
      target = this.policy.checkUrl(url).url;
      addresses = await this.policy.resolveAllowed(target);
    } catch (error) {
      if (error instanceof EndpointRejected) return permanent(error.reason, elapsed());
      if (error instanceof EndpointResolutionFailed) return retryable('dns_failure', elapsed());
      throw error;
    }

    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      authorization: `Bearer ${bearerToken}`,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.userAgent !== undefined) headers['user-agent'] = this.userAgent;

    const undici = await loadUndici();
    const pool = this.acquire(undici, target, addresses);
    try {
      const response = await undici.request(target, {
        dispatcher: pool.agent,
        method: 'POST',
        headers,
        body: payload,
        maxRedirections: 0,
        headersTimeout: this.responseTimeoutMs,
        bodyTimeout: this.responseTimeoutMs,
      });
      await discardBody(response.body, this.responseTimeoutMs);
      return outcomeForStatus(response.statusCode, response.headers['retry-after'], elapsed(), this.now());
    } catch (error) {
      return outcomeForError(error, elapsed());
    } finally {
      this.release(pool);
    }
  }

  /** Closes every pool, letting requests in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => closeQuietly(pool.agent)));
  }

  private acquire(undici: Undici, target: URL, addresses: readonly ResolvedAddress[]): Pool {
    const key = `${target.origin} ${addresses.map(({ address }) => address).join(',')}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = { agent: this.createAgent(undici, target, addresses), inFlight: 0, retired: false };
    } else {
      this.pools.delete(key);
    }
    this.pools.set(key, pool);
    pool.inFlight += 1;
    for (const [oldestKey, oldest] of this.pools) {
      if (this.pools.size <= this.maxPools) break;
      this.pools.delete(oldestKey);
      oldest.retired = true;
      if (oldest.inFlight === 0) void closeQuietly(oldest.agent);
    }
    return pool;
  }

  private release(pool: Pool): void {
    pool.inFlight -= 1;
    if (pool.retired && pool.inFlight === 0) void closeQuietly(pool.agent);
  }

  private createAgent(undici: Undici, target: URL, addresses: readonly ResolvedAddress[]): Agent {
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    return new undici.Agent({
      connect: {
        lookup: pinnedLookup(host, addresses),
        timeout: this.connectTimeoutMs,
        ...(this.ca === undefined ? {} : { ca: this.ca }),
      },
      connections: this.maxConnectionsPerPool,
      headersTimeout: this.responseTimeoutMs,
      bodyTimeout: this.responseTimeoutMs,
      maxRedirections: 0,
    });
  }
}
