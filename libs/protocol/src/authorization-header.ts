/**
 * RFC 6750 §2.1 `b64token` (RFC 9449 §7.1 calls it `token68`): the syntax of a Bearer or DPoP
 * credential, and of every token this provider takes or sends as one (CIBA §7.1
 * client_notification_token, RFC 7591 initial and registration access tokens).
 */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** What an `Authorization` header holds for the schemes an endpoint takes. */
export type AuthorizationToken<S extends string> =
  /** `<scheme> <token>`, one of `schemes`, the token in b64token syntax. */
  | { readonly kind: 'token'; readonly scheme: S; readonly token: string }
  /** No header, or another scheme (Basic, …): no token at all (RFC 6750 §3.1: a bare challenge). */
  | { readonly kind: 'absent' }
  /** One of `schemes`, but no token, more than one, or not b64token (RFC 6750 §3.1 invalid_request). */
  | { readonly kind: 'malformed'; readonly scheme: S };

/**
 * The token of `Authorization: <scheme> <token>` for one of `schemes`, the scheme matched
 * case-insensitively (RFC 7235 §2.1) and given back as spelled in `schemes`. Pure: each endpoint
 * turns `absent` and `malformed` into its own challenge.
 */
export function authorizationToken<S extends string>(header: string | undefined, schemes: readonly S[]): AuthorizationToken<S> {
  const [rawScheme = '', credentials, ...rest] = (header ?? '').trim().split(/ +/);
  const scheme = schemes.find((s) => s.toLowerCase() === rawScheme.toLowerCase());
  if (scheme === undefined) return { kind: 'absent' };
  if (credentials === undefined || rest.length > 0 || !B64TOKEN.test(credentials)) return { kind: 'malformed', scheme };
  return { kind: 'token', scheme, token: credentials };
}
