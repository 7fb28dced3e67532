import { type JWTVerifyOptions, jwtVerify } from 'jose';
import { OAuthError, SIGNING_ALGS } from '@ciba/protocol';
import type { KeyStore } from './key-store.js';

export interface IdTokenHintOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The authenticated client: the hint must be an ID token previously issued to it (CIBA §7.1). */
  readonly clientId: string;
}

export interface ClientIdTokenOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  /** The authenticated client presenting the token: it must be in `aud` (and be `azp`, if present). */
  readonly clientId: string;
  /** The provider's clock: the token must not have expired by then. */
  readonly now: Date;
  /** The oldest authentication (`auth_time`, seconds before `now`) the token may attest. */
  readonly maxAuthAgeSeconds: number;
}

/** Why an ID token presented as proof of the user was refused: safe to tell the client that presented it. */
export type IdTokenRefusal = 'invalid' | 'other_client' | 'stale';

/** A future `auth_time` this far ahead is clock skew between replicas; further is not ours. */
const AUTH_TIME_SKEW_SECONDS = 60;
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
 * Verifies an ID token this provider issued, presented by an AUTHENTICATED client as proof that the
 * user took part just now (the device registration API). Unlike a hint this is a credential:
 * - it must not have expired (RFC 7519 §4.1.4);
 * - it must have been issued to that very client: `aud` contains it and `azp`, when present, is it
 *   (OIDC Core §2, §3.1.3.7 steps 3–5), so one client cannot spend another client's token;
 * - the authentication it attests must be fresh: `auth_time` no older than `maxAuthAgeSeconds`
 *   (as `max_age` in OIDC Core §3.1.2.1). Refreshed ID tokens keep the original `auth_time`, so a
 *   token that merely stays refreshable goes stale.
 */
export async function verifyClientIdToken(
  token: string,
  options: ClientIdTokenOptions,
): Promise<{ readonly ok: true; readonly sub: string } | { readonly ok: false; readonly refusal: IdTokenRefusal }> {
  let payload;
  try {
    const result = await jwtVerify(token, options.keyStore.verificationKeySet(), {
      issuer: options.issuer,
      currentDate: options.now,
      algorithms: [...SIGNING_ALGS],
      requiredClaims: ['sub', 'exp', 'iat', 'aud'],
    });
    if (!isIdTokenTyp(result.protectedHeader.typ)) return { ok: false, refusal: 'invalid' };
    payload = result.payload;
  } catch {
    return { ok: false, refusal: 'invalid' };
  }
  const { sub, aud, azp, auth_time: authTime } = payload;
  if (typeof sub !== 'string' || sub === '') return { ok: false, refusal: 'invalid' };
  const audiences = typeof aud === 'string' ? [aud] : (aud ?? []);
  if (!audiences.includes(options.clientId)) return { ok: false, refusal: 'other_client' };
  if (azp !== undefined && azp !== options.clientId) return { ok: false, refusal: 'other_client' };
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return { ok: false, refusal: 'stale' };
  const ageSeconds = options.now.getTime() / 1000 - authTime;
  if (ageSeconds > options.maxAuthAgeSeconds || ageSeconds < -AUTH_TIME_SKEW_SECONDS) return { ok: false, refusal: 'stale' };
  return { ok: true, sub };
}
