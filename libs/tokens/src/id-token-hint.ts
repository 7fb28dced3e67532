import { type JWTVerifyOptions, jwtVerify } from 'jose';
import { OAuthError, SIGNING_ALGS } from '@ciba/protocol';
import type { KeyStore } from './key-store.js';

export interface IdTokenHintOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The authenticated client: the hint must be an ID token previously issued to it (CIBA §7.1). */
  readonly clientId: string;
}

export interface IdTokenOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The provider's clock: the token must not have expired by then. */
  readonly now: Date;
}

/**
 * OIDC Core §3.1.2.1 allows an expired id_token_hint, so expiry is not checked: jose compares
 * `exp` against `currentDate`, which we set to the Unix epoch. That also makes any `nbf` claim
 * fail, which is fine because this provider never sets `nbf` on ID tokens.
 */
const EXPIRY_IGNORED = new Date(0);

const isIdTokenTyp = (typ: string | undefined): boolean => typ === undefined || typ.toLowerCase() === 'jwt';

type Verified = { readonly sub: string } | { readonly sub: null; readonly cause?: unknown };

/** Signature by one of our published keys, our issuer, the required claims, and the ID token `typ`. */
async function verifiedSubject(token: string, keyStore: KeyStore, checks: Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'currentDate'>): Promise<Verified> {
  let result;
  try {
    result = await jwtVerify(token, keyStore.verificationKeySet(), { ...checks, algorithms: [...SIGNING_ALGS], requiredClaims: ['sub', 'exp', 'iat'] });
  } catch (cause) {
    return { sub: null, cause };
  }
  // An access token (RFC 9068 `at+jwt`) signed by the same key is not an ID token.
  if (!isIdTokenTyp(result.protectedHeader.typ)) return { sub: null };
  const { sub } = result.payload;
  return typeof sub === 'string' && sub !== '' ? { sub } : { sub: null };
}

/** Verifies an `id_token_hint` (CIBA §7.1) and returns the subject it names. */
export async function verifyIdTokenHint(token: string, options: IdTokenHintOptions): Promise<{ sub: string }> {
  const verified = await verifiedSubject(token, options.keyStore, { issuer: options.issuer, audience: options.clientId, currentDate: EXPIRY_IGNORED });
  if (verified.sub === null) throw new OAuthError('invalid_request', 'id_token_hint is not valid', { cause: 'cause' in verified ? verified.cause : undefined });
  return { sub: verified.sub };
}

/**
 * Verifies an ID token this provider issued, presented by the user's app as proof of who the user is
 * (the device registration API). Unlike a hint this is a credential: it must not have expired. Any
 * of this provider's clients may be the audience. Null when it is not valid, for the caller to
 * answer in its own terms.
 */
export async function verifyIdToken(token: string, options: IdTokenOptions): Promise<{ sub: string } | null> {
  const verified = await verifiedSubject(token, options.keyStore, { issuer: options.issuer, currentDate: options.now });
  return verified.sub === null ? null : { sub: verified.sub };
}
