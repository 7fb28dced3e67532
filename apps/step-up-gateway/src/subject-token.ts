import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, errors, jwtVerify, decodeJwt } from 'jose';
import type { Policy } from './policy/policy.js';

export interface VerifiedSubject {
  readonly issuer: string;
  readonly subject: string;
  readonly claims: JWTPayload;
}

export class InvalidSubjectToken extends Error {}

/**
 * Verifies the incoming bearer (the subject token) against its issuer's JWKS: the issuer must be
 * one the policy trusts, the signature one of that issuer's keys (fetched once, cached and
 * refreshed by jose on an unknown `kid`), and `aud`, `exp` and `nbf` must hold.
 */
export class SubjectTokenVerifier {
  private readonly keySets = new Map<string, JWTVerifyGetKey>();

  constructor(private readonly settings: Policy['subjectTokens']) {
    for (const { issuer, jwksUri } of settings.issuers) {
      this.keySets.set(issuer, createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 }));
    }
  }

  /** The bearer token of an `Authorization` header, or null. */
  static bearerOf(header: string | undefined): string | null {
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header ?? '');
    return match ? match[1] : null;
  }

  async verify(token: string): Promise<VerifiedSubject> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new InvalidSubjectToken('the access token is not a JWT');
    }
    const keySet = typeof issuer === 'string' ? this.keySets.get(issuer) : undefined;
    if (keySet === undefined || typeof issuer !== 'string') throw new InvalidSubjectToken('the access token was not issued by a trusted issuer');
    try {
      const { payload } = await jwtVerify(token, keySet, {
        issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      });
      return { issuer, subject: String(payload.sub), claims: payload };
    } catch (err) {
      throw new InvalidSubjectToken(describe(err));
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the access token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `the access token's ${err.claim} claim is not acceptable`;
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'the access token signature is not valid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the access token is signed with an algorithm the gateway does not accept';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return "the issuer's keys could not be fetched";
  return 'the access token is not valid';
}
