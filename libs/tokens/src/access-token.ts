import { jwtVerify } from 'jose';
import { SIGNING_ALGS } from '@ciba/protocol';
import type { Confirmation } from './confirmation.js';
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
  /** RFC 9068 §2.2 `jti`: what a revocation names (absent only from tokens issued before tokens carried one). */
  readonly jti?: string;
  /** RFC 7800 confirmation, when the token is sender-constrained (RFC 9449 `jkt`, RFC 8705 `x5t#S256`). */
  readonly cnf?: Confirmation;
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
  const { sub, client_id: clientId, scope, exp, iat, aud, cnf, jti } = payload;
  // A `cnf` this provider cannot read would make a bound token usable as a bearer one: refuse it.
  const confirmation = cnf === undefined ? undefined : confirmationOf(cnf);
  if (confirmation === null) return null;
  if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof exp !== 'number' || typeof iat !== 'number' || aud === undefined) return null;
  return {
    sub,
    clientId,
    scope: scope.split(' ').filter((s) => s !== ''),
    exp,
    iat,
    iss: check.issuer,
    aud,
    ...(typeof jti === 'string' && jti !== '' ? { jti } : {}),
    ...(confirmation !== undefined ? { cnf: confirmation } : {}),
  };
}

/** The RFC 7800 confirmation members this provider binds tokens with; null when `cnf` holds anything else. */
function confirmationOf(cnf: unknown): Confirmation | null {
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return null;
  const entries = Object.entries(cnf);
  if (entries.length === 0) return null;
  const confirmation: { jkt?: string; 'x5t#S256'?: string } = {};
  for (const [name, value] of entries) {
    if ((name !== 'jkt' && name !== 'x5t#S256') || typeof value !== 'string' || value === '') return null;
    confirmation[name] = value;
  }
  return confirmation;
}
