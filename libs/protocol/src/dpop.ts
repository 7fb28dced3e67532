import { OAuthError } from './errors.js';

/**
 * RFC 9449 (OAuth 2.0 Demonstrating Proof of Possession): the protocol rules, framework-free.
 * Verifying a proof's signature is the tokens lib's (jose); this file names the rules.
 */

/** RFC 9449 §4.2: the `typ` of a DPoP proof JWT. */
export const DPOP_PROOF_TYP = 'dpop+jwt';
/** RFC 9449 §4.1 / §8.1: the request and response header names (HTTP header names are case-insensitive). */
export const DPOP_HEADER = 'DPoP';
export const DPOP_NONCE_HEADER = 'DPoP-Nonce';
/** RFC 9449 §7.1: the authorization scheme of a DPoP-bound access token. */
export const DPOP_AUTH_SCHEME = 'DPoP';

/**
 * RFC 9449 §4.3 (5): asymmetric algorithms only (never `none`, never a MAC); the ones this provider
 * also signs with, all of them in jose. Published as `dpop_signing_alg_values_supported` (§5.1).
 */
export const DPOP_SIGNING_ALGS = ['ES256', 'PS256', 'EdDSA', 'RS256'] as const;
export type DpopSigningAlg = (typeof DPOP_SIGNING_ALGS)[number];

export function isDpopSigningAlg(alg: unknown): alg is DpopSigningAlg {
  return typeof alg === 'string' && (DPOP_SIGNING_ALGS as readonly string[]).includes(alg);
}

/**
 * A DPoP header is one compact JWS; RSA-4096 keys and signatures fit well within this. Anything
 * longer is refused before it is parsed.
 */
export const DPOP_PROOF_MAX_LENGTH = 8192;
/** RFC 9449 §4.2: `jti` is the client's text, bounded like any other identifier it sends. */
export const DPOP_JTI_MAX_LENGTH = 255;
/** A nonce (RFC 9449 §8.1: `1*NQCHAR`) longer than this is no nonce this provider issued. */
export const DPOP_NONCE_MAX_LENGTH = 255;

/** Why a proof is refused: RFC 9449 §4.3 `invalid_dpop_proof`, or §8 / §9 `use_dpop_nonce`. */
export type DpopError = 'invalid_dpop_proof' | 'use_dpop_nonce';

/**
 * RFC 9449 §4.3 (9): `htu` compared with the request's URI without its query and fragment, after
 * RFC 3986 §6.2.2 / §6.2.3 normalization (the WHATWG URL parser lowercases scheme and host, drops
 * the default port, resolves dot segments). Null for anything that is not an absolute http(s) URI.
 */
export function normalizedHtu(uri: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (parsed.username !== '' || parsed.password !== '') return null;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/**
 * RFC 9449 §4.1: the request must carry exactly one DPoP header; returns it, or null when there is
 * none. Several (or an empty one) is `invalid_dpop_proof` (§4.3 (1)).
 */
export function singleDpopHeader(values: readonly string[] | undefined): string | null {
  if (values === undefined || values.length === 0) return null;
  if (values.length > 1) throw dpopProofError('the request must carry exactly one DPoP header');
  const [value] = values;
  if (value === undefined || value.trim() === '') throw dpopProofError('the DPoP header is empty');
  return value.trim();
}

/** RFC 9449 §5: the token endpoint's `invalid_dpop_proof` (400). */
export function dpopProofError(description: string, headers: Record<string, string> = {}): OAuthError {
  return new OAuthError('invalid_dpop_proof', description, { status: 400, headers });
}

/** RFC 9449 §8: the token endpoint asks for a (fresh) nonce: 400 `use_dpop_nonce` with the nonce to use. */
export function useDpopNonceError(nonce: string): OAuthError {
  return new OAuthError('use_dpop_nonce', 'the DPoP proof must carry the nonce in the DPoP-Nonce header', {
    status: 400,
    headers: { [DPOP_NONCE_HEADER]: nonce },
  });
}

/**
 * RFC 9449 §7.1 / RFC 6750 §3: an error of a protected resource, with the `DPoP` challenge (its
 * `algs`) and, since Bearer tokens are accepted too, the `Bearer` one. `error` null: no token at all.
 */
export function resourceChallenge(
  error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | DpopError | null,
  description: string,
  options: { readonly scope?: string; readonly nonce?: string; readonly scheme?: 'Bearer' | 'DPoP' } = {},
): OAuthError {
  const detail = error === null ? [] : [`error="${error}"`, `error_description="${description.replaceAll('"', "'")}"`];
  const scope = options.scope === undefined ? [] : [`scope="${options.scope}"`];
  const algs = `algs="${DPOP_SIGNING_ALGS.join(' ')}"`;
  // The error goes in the challenge of the scheme the request used (DPoP errors always in DPoP's).
  const inDpop = options.scheme === 'DPoP' || error === 'invalid_dpop_proof' || error === 'use_dpop_nonce';
  const dpop = ['DPoP', [...(inDpop ? [...detail, ...scope] : []), algs].join(', ')].join(' ');
  const bearer = ['Bearer', ['realm="ciba"', ...(inDpop ? [] : [...detail, ...scope])].join(', ')].join(' ');
  const status = error === 'invalid_request' ? 400 : error === 'insufficient_scope' ? 403 : 401;
  return new OAuthError(error ?? 'invalid_token', description, {
    status,
    headers: {
      'WWW-Authenticate': inDpop ? `${dpop}, ${bearer}` : `${bearer}, ${dpop}`,
      ...(options.nonce === undefined ? {} : { [DPOP_NONCE_HEADER]: options.nonce }),
    },
  });
}
