import { type FormParams, OAuthError, invalidRequest } from '@ciba/protocol';

/** The token types this provider issues, in RFC 7009 §4.1.2 / RFC 7662 §2.1 `token_type_hint` terms. */
export type TokenKind = 'access_token' | 'refresh_token';

/** The `token` and `token_type_hint` of an introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1) request. */
export interface TokenOperationRequest {
  readonly token: string;
  /** Where to look first; the other kind is still searched (RFC 7009 §2.1, RFC 7662 §2.1). */
  readonly lookupOrder: readonly [TokenKind, TokenKind];
}

/**
 * RFC 7662 §2.1 / RFC 7009 §2.1: `token` is required; `token_type_hint` is only a hint: it orders
 * the search and nothing else. An unknown hint value is ignored, as a server "MAY ignore" the hint.
 */
export function validateTokenOperationRequest(params: FormParams): TokenOperationRequest {
  const token = params.get('token');
  if (token === undefined) throw invalidRequest('token is required');
  const hint = params.get('token_type_hint');
  return { token, lookupOrder: hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'] };
}

/**
 * RFC 6750 §3: an error of a protected resource, with its `WWW-Authenticate: Bearer` challenge.
 * `error` null: the request carried no token at all (§3.1: no error code then).
 */
export function bearerError(error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | null, description: string, scope?: string): OAuthError {
  const attributes = ['realm="ciba"'];
  if (error !== null) attributes.push(`error="${error}"`, `error_description="${description}"`);
  if (scope !== undefined) attributes.push(`scope="${scope}"`);
  const status = error === 'invalid_request' ? 400 : error === 'insufficient_scope' ? 403 : 401;
  return new OAuthError(error ?? 'invalid_token', description, { status, headers: { 'WWW-Authenticate': `Bearer ${attributes.join(', ')}` } });
}

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * RFC 6750 §2.1: the access token from the Authorization header, the only place this provider takes
 * it from. A token in the URI query (§2.3, which leaks it into logs and histories) or in the form
 * body is refused with `invalid_request`.
 */
export function bearerTokenOf(request: { readonly authorization: string | undefined; readonly inQuery: boolean; readonly inBody: boolean }): string {
  if (request.inQuery) throw bearerError('invalid_request', 'the access token must be sent in the Authorization header, never in the URI query');
  if (request.inBody) throw bearerError('invalid_request', 'the access token must be sent in the Authorization header, not in the request body');
  const [scheme, credentials, ...rest] = (request.authorization ?? '').trim().split(/ +/);
  // RFC 7235 §2.1: the scheme is case-insensitive; another scheme (Basic, …) carries no access token.
  if (scheme.toLowerCase() !== 'bearer') throw bearerError(null, 'an access token is required (Authorization: Bearer)');
  if (credentials === undefined || rest.length > 0 || !B64TOKEN.test(credentials)) {
    throw bearerError('invalid_request', 'the Authorization header must be "Bearer <access token>"');
  }
  return credentials;
}
