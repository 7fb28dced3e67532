import { type FormParams, authorizationToken, invalidRequest, resourceChallenge } from '@ciba/protocol';

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

/** The access token of a resource request, and the scheme it came with (RFC 6750 §2.1, RFC 9449 §7.1). */
export interface PresentedAccessToken {
  readonly token: string;
  readonly scheme: 'Bearer' | 'DPoP';
}

/**
 * RFC 6750 §2.1 / RFC 9449 §7.1: the access token from the Authorization header, with the Bearer or
 * the DPoP scheme, the only place this provider takes it from. A token in the URI query (§2.3, which
 * leaks it into logs and histories) or in the form body is refused with `invalid_request`; no
 * Authorization header (or another scheme) is the bare challenge (RFC 6750 §3.1: no error code).
 */
export function accessTokenOf(request: { readonly authorization: string | undefined; readonly inQuery: boolean; readonly inBody: boolean }): PresentedAccessToken {
  if (request.inQuery) throw resourceChallenge('invalid_request', 'the access token must be sent in the Authorization header, never in the URI query');
  if (request.inBody) throw resourceChallenge('invalid_request', 'the access token must be sent in the Authorization header, not in the request body');
  const presented = authorizationToken(request.authorization, ['Bearer', 'DPoP'] as const);
  switch (presented.kind) {
    case 'absent':
      throw resourceChallenge(null, 'an access token is required (Authorization: Bearer or DPoP)');
    case 'malformed':
      throw resourceChallenge('invalid_request', `the Authorization header must be "${presented.scheme} <access token>"`, { scheme: presented.scheme });
    case 'token':
      return { token: presented.token, scheme: presented.scheme };
  }
}
