import { CLIENT_SECRET_JWT_ALGS, type ClientAssertionMethod, SIGNING_ALGS } from './constants.js';

/**
 * JWK members that carry private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1, RFC 8037 §2).
 * A client's registered key set holds public keys only: a private key there is a leaked key, and a
 * symmetric `k` would turn private_key_jwt into a shared secret.
 */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const PUBLIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
/** A client needs a handful of keys, a few during a rotation; more is not a key set worth holding. */
export const CLIENT_JWKS_MAX_KEYS = 20;

/** Why a JWK Set cannot be a client's public keys, or null when it can. Never echoes key material. */
export function publicJwkSetProblem(jwks: unknown): string | null {
  if (typeof jwks !== 'object' || jwks === null || Array.isArray(jwks)) return 'must be a JWK Set object';
  const keys = (jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) return 'must have a non-empty keys array';
  if (keys.length > CLIENT_JWKS_MAX_KEYS) return `must have at most ${CLIENT_JWKS_MAX_KEYS} keys`;
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) return `keys[${index}] must be a JWK object`;
    const jwk = key as Record<string, unknown>;
    if (PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(jwk, member))) return `keys[${index}] holds private or secret key material; register public keys only`;
    if (typeof jwk['kty'] !== 'string' || !PUBLIC_KEY_TYPES.has(jwk['kty'])) return `keys[${index}] must have kty RSA, EC or OKP`;
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return `keys[${index}] must be a signing key (use "sig")`;
  }
  return null;
}

/**
 * OpenID Connect Core 1.0 §9: which method an assertion's `alg` belongs to. HMAC algorithms are
 * client_secret_jwt, the provider's asymmetric algorithms private_key_jwt; anything else (`none`,
 * algorithms this provider does not implement) belongs to neither and is refused.
 */
export function clientAssertionMethodOf(alg: unknown): ClientAssertionMethod | null {
  if (typeof alg !== 'string') return null;
  if ((CLIENT_SECRET_JWT_ALGS as readonly string[]).includes(alg)) return 'client_secret_jwt';
  if ((SIGNING_ALGS as readonly string[]).includes(alg)) return 'private_key_jwt';
  return null;
}

/** The algorithms a client may register as token_endpoint_auth_signing_alg for its method. */
export function assertionAlgsFor(method: ClientAssertionMethod): readonly string[] {
  return method === 'client_secret_jwt' ? CLIENT_SECRET_JWT_ALGS : SIGNING_ALGS;
}
