import type { Request } from 'express';
import { OAuthError, parseFormParams, type FormParams } from '@ciba/protocol';

/** CIBA §7.1 / RFC 6749 §3.2: protocol requests are form-encoded POSTs. */
export function formParamsOf(req: Request): FormParams {
  if (!req.is('application/x-www-form-urlencoded')) {
    throw new OAuthError('invalid_request', 'the request must be application/x-www-form-urlencoded');
  }
  return parseFormParams(req.body);
}

export function methodNotAllowed(allowed: string): OAuthError {
  return new OAuthError('invalid_request', `method not allowed; use ${allowed}`, { status: 405, headers: { Allow: allowed } });
}

/** Responses that carry tokens or identifiers must not be cached (RFC 6749 §5.1, CIBA §7.3). */
export const NO_STORE_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
