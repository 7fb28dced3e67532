import { rootCertificates } from 'node:tls';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { pinnedLookup } from './pinned-lookup.js';

/** An answer to a lookup is a small JSON object; a body larger than this is not one. */
export const JSON_POST_RESPONSE_LIMIT_BYTES = 16 * 1024;

export interface JsonPosterOptions {
  readonly policy: EndpointPolicy;
  /** TCP connect plus TLS handshake. */
  readonly connectTimeoutMs: number;
  /** Waiting for the response headers, and then for the body. */
  readonly responseTimeoutMs: number;
  /** Extra trusted CA certificate(s), PEM, on top of Node's root store: private PKI, tests. */
  readonly ca?: string | Buffer;
  readonly userAgent?: string;
}

/** Why a request got no usable answer: a short code for logs, never a URL, credential or body. */
export class JsonPostFailed extends Error {
  constructor(readonly reason: string) {
    super(`outbound request failed: ${reason}`);
    this.name = 'JsonPostFailed';
  }
}

/** The answer: its status, and its body parsed as JSON (undefined when empty or not JSON). */
export interface JsonPostResponse {
  readonly status: number;
  readonly json: unknown;
}

/**
 * POSTs a JSON body to a URL under an endpoint policy, as `JwksFetcher` GETs a key set: the URL
 * and every address its host resolves to pass the policy, the connection goes only to the checked
 * addresses (no second DNS lookup), redirects are not followed (a 3xx is just a status), and the
 * answer is bounded in size and time. For lookups in a service the operator runs (a user directory).
 */
export class JsonPoster {
  private readonly ca: (string | Buffer)[] | undefined;

  constructor(private readonly options: JsonPosterOptions) {
    // Node's `ca` replaces the root store; an extra CA must be added to it, not swapped in.
    this.ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca];
  }

  async post(url: string, body: unknown, headers: Readonly<Record<string, string>> = {}): Promise<JsonPostResponse> {
    let checked: Awaited<ReturnType<EndpointPolicy['check']>>;
    try {
      checked = await this.options.policy.check(url);
    } catch (error) {
      if (error instanceof EndpointRejected) throw new JsonPostFailed(error.reason);
      if (error instanceof EndpointResolutionFailed) throw new JsonPostFailed('dns_failure');
      throw error;
    }
    const { url: target, addresses } = checked;
    const { connectTimeoutMs, responseTimeoutMs } = this.options;
    const undici = await import('undici');
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    const agent = new undici.Agent({
      connect: { lookup: pinnedLookup(host, addresses), timeout: connectTimeoutMs, ...(this.ca === undefined ? {} : { ca: this.ca }) },
      headersTimeout: responseTimeoutMs,
      bodyTimeout: responseTimeoutMs,
      maxRedirections: 0,
    });
    try {
      const response = await undici
        .request(target, {
          dispatcher: agent,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            accept: 'application/json',
            ...(this.options.userAgent === undefined ? {} : { 'user-agent': this.options.userAgent }),
          },
          body: JSON.stringify(body),
          maxRedirections: 0,
          headersTimeout: responseTimeoutMs,
          bodyTimeout: responseTimeoutMs,
        })
        .catch((error: unknown) => {
          const code = (error as { code?: unknown } | null)?.code;
          throw new JsonPostFailed(code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : 'unreachable');
        });
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > JSON_POST_RESPONSE_LIMIT_BYTES) {
        response.body.destroy();
        throw new JsonPostFailed('too_large');
      }
      const text = await readBounded(response.body);
      let json: unknown;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.statusCode, json };
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
      if (size > JSON_POST_RESPONSE_LIMIT_BYTES) {
        body.destroy();
        throw new JsonPostFailed('too_large');
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof JsonPostFailed) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    throw new JsonPostFailed(code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'unreadable');
  }
  return Buffer.concat(chunks).toString('utf8');
}
