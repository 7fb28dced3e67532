import { jwtVerify } from 'jose';
import { OAuthError, SIGNING_ALGS } from '@ciba/protocol';
import type { KeyStore } from './key-store.js';

export interface IdTokenHintOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The authenticated client: the hint must be an ID token previously issued to it (CIBA §7.1). */
  readonly clientId: string;
}

/**
 * OIDC Core §3.1.2.1 allows an expired id_token_hint, so expiry is not checked: jose compares
 * `exp` against `currentDate`, which we set to the Unix epoch. That also makes any `nbf` claim
 * fail, which is fine because this provider never sets `nbf` on ID tokens.
 */
const EXPIRY_IGNORED = new Date(0);

const isIdTokenTyp = (typ: string | undefined): boolean => typ === undefined || typ.toLowerCase() === 'jwt';

/** Verifies an `id_token_hint` (CIBA §7.1) and returns the subject it names. */
export async function verifyIdTokenHint(token: string, options: IdTokenHintOptions): Promise<{ sub: string }> {
  const invalid = (cause?: unknown): OAuthError => new OAuthError('invalid_request', 'id_token_hint is not valid', { cause });
  let result;
  try {
    result = await jwtVerify(token, options.keyStore.verificationKeySet(), {
      issuer: options.issuer,
      audience: options.clientId,
      algorithms: [...SIGNING_ALGS],
      currentDate: EXPIRY_IGNORED,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
  } catch (cause) {
    throw invalid(cause);
  }
  // An access token (RFC 9068 `at+jwt`) signed by the same key is not an ID token.
  if (!isIdTokenTyp(result.protectedHeader.typ)) throw invalid();
  const { sub } = result.payload;
  if (typeof sub !== 'string' || sub === '') throw invalid();
  return { sub };
}
