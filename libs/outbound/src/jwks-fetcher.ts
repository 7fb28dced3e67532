import type { EndpointPolicy } from './endpoint-policy.js';
import { DocumentFetchFailed, JsonDocumentFetcher } from './json-document-fetcher.js';

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
 * GETs a client's `jwks_uri` (RFC 7591 §2) under the same rules as notification endpoints (see
 * `JsonDocumentFetcher`: the endpoint policy, pinned addresses, no redirects, bounded size and time).
 * Returns the parsed JSON, unjudged beyond "an object with a keys array": what the keys may be is the
 * caller's rule.
 */
export class JwksFetcher {
  private readonly documents: JsonDocumentFetcher;

  constructor(options: JwksFetcherOptions) {
    this.documents = new JsonDocumentFetcher({ ...options, limitBytes: JWKS_RESPONSE_LIMIT_BYTES, accept: 'application/jwk-set+json, application/json' });
  }

  async fetch(url: string): Promise<{ keys: Record<string, unknown>[] }> {
    let json: unknown;
    try {
      json = await this.documents.fetch(url);
    } catch (error) {
      if (error instanceof DocumentFetchFailed) throw new JwksFetchFailed(error.reason);
      throw error;
    }
    const keys = (json as { keys?: unknown } | null)?.keys;
    if (typeof json !== 'object' || json === null || !Array.isArray(keys) || !keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k))) {
      throw new JwksFetchFailed('not_a_jwk_set');
    }
    return { keys: keys as Record<string, unknown>[] };
  }
}
