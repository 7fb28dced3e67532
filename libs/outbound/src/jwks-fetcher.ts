import { rootCertificates } from 'node:tls';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { pinnedLookup } from './pinned-lookup.js';

/** A client's key set is a few keys; a document larger than this is not one. */
export const JWKS_RESPONSE_LIMIT_BYTES = 64 * 1024;

export interface JwksFetcherOptions {
  readonly policy: EndpointPolicy;
  /** TCP connect plus TLS handshake. */
  readonly connectTimeoutMs?: number;
  /** Waiting for the response headers, and then for the body. */
  readonly responseTimeoutMs?: number;
  /** Extra trusted CA certificate(s), PEM, on top of Node's root store: private PKI, tests. */
  readonly ca?: string | Buffer;
  readonly userAgent?: string;
}

/** Why a key set could not be fetched: a short code for logs, never the document's content. */
export class JwksFetchFailed extends Error {
  constructor(readonly reason: string) {
    super(`jwks_uri fetch failed: ${reason}`);
    this.name = 'JwksFetchFailed';
  }
}

/**
 * GETs a client's `jwks_uri` (RFC 7591 §2) under the same rules as notification endpoints: the URL
 * and every address its host resolves to pass the endpoint policy (https, no private or metadata
 * address unless allow-listed), the connection goes only to those checked addresses, redirects are
 * not followed, and the body is bounded in size and time. Returns the parsed JSON, unjudged beyond
 * "an object with a keys array": what the keys may be is the caller's rule.
 */
export class JwksFetcher {
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly ca: (string | Buffer)[] | undefined;

  constructor(private readonly options: JwksFetcherOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 5_000;
    // Node's `ca` replaces the root store; an extra CA must be added to it, not swapped in.
    this.ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca];
  }

  async fetch(url: string): Promise<{ keys: Record<string, unknown>[] }> {
    let checked: Awaited<ReturnType<EndpointPolicy['check']>>;
    try {
      checked = await this.options.policy.check(url);
    } catch (error) {
      if (error instanceof EndpointRejected) throw new JwksFetchFailed(error.reason);
      if (error instanceof EndpointResolutionFailed) throw new JwksFetchFailed('dns_failure');
      throw error;
    }
    const { url: target, addresses } = checked;
    const undici = await import('undici');
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const agent = new undici.Agent({
      connect: { lookup: pinnedLookup(host, addresses), timeout: this.connectTimeoutMs, ...(this.ca === undefined ? {} : { ca: this.ca }) },
      headersTimeout: this.responseTimeoutMs,
      bodyTimeout: this.responseTimeoutMs,
      maxRedirections: 0,
    });
    try {
      const headers: Record<string, string> = { accept: 'application/jwk-set+json, application/json' };
      if (this.options.userAgent !== undefined) headers['user-agent'] = this.options.userAgent;
      const response = await undici
        .request(target, { dispatcher: agent, method: 'GET', headers, maxRedirections: 0, headersTimeout: this.responseTimeoutMs, bodyTimeout: this.responseTimeoutMs })
        .catch(() => {
          throw new JwksFetchFailed('unreachable');
        });
      if (response.statusCode !== 200) {
        await response.body.dump({ limit: JWKS_RESPONSE_LIMIT_BYTES }).catch(() => undefined);
        throw new JwksFetchFailed(`status_${response.statusCode}`);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > JWKS_RESPONSE_LIMIT_BYTES) {
        response.body.destroy();
        throw new JwksFetchFailed('too_large');
      }
      const text = await readBounded(response.body);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new JwksFetchFailed('not_json');
      }
      const keys = (json as { keys?: unknown } | null)?.keys;
      if (typeof json !== 'object' || json === null || !Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) {
        throw new JwksFetchFailed('not_a_jwk_set');
      }
      return { keys: keys as Record<string, unknown>[] };
    } finally {
      agent.close().catch(() => undefined);
    }
  }
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > JWKS_RESPONSE_LIMIT_BYTES) {
        body.destroy();
        throw new JwksFetchFailed('too_large');
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof JwksFetchFailed) throw error;
    throw new JwksFetchFailed('unreadable');
  }
  return Buffer.concat(chunks).toString('utf8');
}
