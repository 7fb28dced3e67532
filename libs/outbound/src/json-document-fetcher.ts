import { rootCertificates } from 'node:tls';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { pinnedLookup } from './pinned-lookup.js';

export interface JsonDocumentFetcherOptions {
  readonly policy: EndpointPolicy;
  /** TCP connect plus TLS handshake. */
  readonly connectTimeoutMs?: number;
  /** Waiting for the response headers, and then for the body. */
  readonly responseTimeoutMs?: number;
  /** Extra trusted CA certificate(s), PEM, on top of Node's root store: private PKI, tests. */
  readonly ca?: string | Buffer;
  readonly userAgent?: string;
  /** The largest body accepted. */
  readonly limitBytes: number;
  /** The `Accept` header. */
  readonly accept: string;
}

/** Why a document could not be fetched: a short code for logs and problems, never the document's content. */
export class DocumentFetchFailed extends Error {
  constructor(readonly reason: string) {
    super(`fetch failed: ${reason}`);
    this.name = 'DocumentFetchFailed';
  }
}

/**
 * GETs a JSON document a client registered the URL of (a `jwks_uri`, a `sector_identifier_uri`)
 * under the same rules as notification endpoints: the URL and every address its host resolves to
 * pass the endpoint policy (https, no private or metadata address unless allow-listed), the
 * connection goes only to those checked addresses, redirects are not followed, and the body is
 * bounded in size and time. Returns the parsed JSON, unjudged: what it must hold is the caller's rule.
 */
export class JsonDocumentFetcher {
  private readonly connectTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly ca: (string | Buffer)[] | undefined;

  constructor(private readonly options: JsonDocumentFetcherOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 5_000;
    // Node's `ca` replaces the root store; an extra CA must be added to it, not swapped in.
    this.ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca];
  }

  async fetch(url: string): Promise<unknown> {
    let checked: Awaited<ReturnType<EndpointPolicy['check']>>;
    try {
      checked = await this.options.policy.check(url);
    } catch (error) {
      if (error instanceof EndpointRejected) throw new DocumentFetchFailed(error.reason);
      if (error instanceof EndpointResolutionFailed) throw new DocumentFetchFailed('dns_failure');
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
    const limit = this.options.limitBytes;
    try {
      const headers: Record<string, string> = { accept: this.options.accept };
      if (this.options.userAgent !== undefined) headers['user-agent'] = this.options.userAgent;
      const response = await undici
        .request(target, { dispatcher: agent, method: 'GET', headers, maxRedirections: 0, headersTimeout: this.responseTimeoutMs, bodyTimeout: this.responseTimeoutMs })
        .catch(() => {
          throw new DocumentFetchFailed('unreachable');
        });
      if (response.statusCode !== 200) {
        await response.body.dump({ limit }).catch(() => undefined);
        throw new DocumentFetchFailed(`status_${response.statusCode}`);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        response.body.destroy();
        throw new DocumentFetchFailed('too_large');
      }
      const text = await readBounded(response.body, limit);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new DocumentFetchFailed('not_json');
      }
    } finally {
      agent.close().catch(() => undefined);
    }
  }
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        throw new DocumentFetchFailed('too_large');
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof DocumentFetchFailed) throw error;
    throw new DocumentFetchFailed('unreadable');
  }
  return Buffer.concat(chunks).toString('utf8');
}
