import { parseRetryAfter } from './retry-after.js';

/**
 * What one delivery attempt came to. Reasons are short codes, safe to log and audit: they never
 * contain the endpoint's token, the body, or the response.
 */
export type DeliveryOutcome =
  | { readonly kind: 'delivered'; readonly status: number; readonly latencyMs: number }
  | { readonly kind: 'retryable'; readonly reason: string; readonly status: number | null; readonly retryAfterMs: number | null; readonly latencyMs: number }
  | { readonly kind: 'permanent'; readonly reason: string; readonly status: number | null; readonly latencyMs: number };

export function retryable(reason: string, latencyMs: number, status: number | null = null, retryAfterMs: number | null = null): DeliveryOutcome {
  return { kind: 'retryable', reason, status, retryAfterMs, latencyMs };
}

export function permanent(reason: string, latencyMs: number, status: number | null = null): DeliveryOutcome {
  return { kind: 'permanent', reason, status, latencyMs };
}

const RETRYABLE_STATUS_REASONS: Readonly<Record<number, string>> = {
  408: 'request_timeout',
  425: 'too_early',
  429: 'rate_limited',
};

/**
 * Classifies an HTTP answer. 2xx is delivered. 408, 425, 429 and 5xx are retryable, with the
 * Retry-After delay when the endpoint gave one. A 3xx is a failure, never followed: the client
 * registered this exact endpoint, and following a Location would let it point the provider
 * anywhere. Every other status (400, 401, 403, 404, …) is permanent — calling an endpoint again
 * after a 401 is a conformance failure.
 */
export function outcomeForStatus(status: number, retryAfter: string | readonly string[] | undefined, latencyMs: number, nowMs: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status, latencyMs };
  const retryableReason = RETRYABLE_STATUS_REASONS[status] ?? (status >= 500 && status < 600 ? 'server_error' : undefined);
  if (retryableReason !== undefined) return retryable(retryableReason, latencyMs, status, parseRetryAfter(retryAfter, nowMs));
  if (status >= 300 && status < 400) return permanent('redirect_not_followed', latencyMs, status);
  if (status === 401 || status === 403) return permanent('unauthorized', latencyMs, status);
  if (status >= 400 && status < 500) return permanent('client_error', latencyMs, status);
  return permanent('unexpected_status', latencyMs, status);
}

/** OpenSSL verification codes as Node reports them, plus Node's own host name check. */
const CERTIFICATE_ERRORS = new Set([
  'CERT_CHAIN_TOO_LONG',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

const RETRYABLE_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  ETIMEDOUT: 'connect_timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'response_timeout',
  UND_ERR_BODY_TIMEOUT: 'response_timeout',
  EHOSTUNREACH: 'network_unreachable',
  ENETUNREACH: 'network_unreachable',
  EHOSTDOWN: 'network_unreachable',
  ENETDOWN: 'network_unreachable',
  EADDRNOTAVAIL: 'network_unreachable',
  ENOTFOUND: 'dns_failure',
  EAI_AGAIN: 'dns_failure',
  ENODATA: 'dns_failure',
  UND_ERR_HTTP_PARSER: 'invalid_response',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'invalid_response',
  UND_ERR_HEADERS_OVERFLOW: 'invalid_response',
};

/** The `code` of an error and of its causes, outermost first (fetch-style wrappers hide it in `cause`). */
function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}

/**
 * Classifies a failure to get an HTTP answer. Network errors, DNS failures and timeouts are
 * retryable: the endpoint may be back in a minute. TLS failures are permanent: an untrusted,
 * expired or mismatched certificate (or a TLS protocol mismatch) is a misconfiguration that
 * retrying within minutes will not fix, and an operator can redeliver from the dead-letter stream
 * once the client has fixed it. Unknown errors count as network errors.
 */
export function outcomeForError(error: unknown, latencyMs: number): DeliveryOutcome {
  for (const code of errorCodes(error)) {
    if (CERTIFICATE_ERRORS.has(code)) return permanent('tls_certificate_invalid', latencyMs);
    const reason = RETRYABLE_ERRORS[code];
    if (reason !== undefined) return retryable(reason, latencyMs);
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return permanent('tls_error', latencyMs);
    if (code === 'UND_ERR_INVALID_ARG') return permanent('invalid_request', latencyMs);
  }
  return retryable('network_error', latencyMs);
}
