import { jwtVerify } from 'jose';
import { SIGNING_ALGS } from '@ciba/protocol';
import type { KeyStore } from './key-store.js';

export interface AccessTokenCheck {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The provider's clock: the token must not have expired by then. */
  readonly now: Date;
}

/** The claims of a verified RFC 9068 access token that introspection and UserInfo use. */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly iss: string;
  readonly aud: string | readonly string[];
  /** RFC 7800 confirmation, when the token is sender-constrained (never, today). */
  readonly cnf?: Readonly<Record<string, unknown>>;
}

/**
 * An access token this provider issued and that is still valid: signed by one of its published keys
 * with an algorithm it signs with (never `none`), `typ` at+jwt (RFC 9068 §4: an ID token is not an
 * access token), this issuer, not expired. Anything else is null; why is nobody's business.
 */
export async function verifyAccessToken(token: string, check: AccessTokenCheck): Promise<AccessTokenClaims | null> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, check.keyStore.verificationKeySet(), {
      issuer: check.issuer,
      currentDate: check.now,
      typ: 'at+jwt',
      algorithms: [...SIGNING_ALGS],
      requiredClaims: ['sub', 'exp', 'iat', 'client_id', 'scope', 'aud'],
    }));
  } catch {
    return null;
  }
  const { sub, client_id: clientId, scope, exp, iat, aud, cnf } = payload;
  if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof exp !== 'number' || typeof iat !== 'number' || aud === undefined) return null;
  return {
    sub,
    clientId,
    scope: scope.split(' ').filter((s) => s !== ''),
    exp,
    iat,
    iss: check.issuer,
    aud,
    ...(typeof cnf === 'object' && cnf !== null ? { cnf: cnf as Record<string, unknown> } : {}),
  };
}
