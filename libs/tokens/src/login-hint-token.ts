import { type JWSHeaderParameters, type JWTPayload, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { OAuthError } from '@ciba/protocol';
import { type ClientJwksCache, ClientJwksUnavailable } from './client-jwks-cache.js';

/** A trusted issuer of login_hint_tokens (the config lib's `LoginHintTokenIssuer`). */
export interface TrustedLoginHintTokenIssuer {
  readonly issuer: string;
  readonly keys: { readonly jwksUri: string } | { readonly jwks: { readonly keys: readonly object[] } };
  readonly subjectClaim: string;
  /** A value `aud` must hold; null: not checked. */
  readonly audience: string | null;
  readonly algorithms: readonly string[];
}

export interface LoginHintTokenVerifierOptions {
  readonly issuers: readonly TrustedLoginHintTokenIssuer[];
  /** Issuers' key sets, fetched (jwks_uri) and cached like clients' (`ClientJwksCache`). */
  readonly jwksCache: ClientJwksCache;
  readonly now: () => Date;
  readonly clockSkewMs: number;
}

/** A signed hint is a few hundred bytes; this is far beyond any real one, and bounds the work. */
export const LOGIN_HINT_TOKEN_MAX_LENGTH = 8 * 1024;
/** Longer than any sub, address, number or username; a longer subject is no user's. */
const SUBJECT_MAX_LENGTH = 512;

/** Who a verified login_hint_token names: its issuer, the claim its issuer names users by, and that claim's value. */
export interface LoginHintTokenSubject {
  readonly issuer: string;
  readonly claim: string;
  readonly value: string;
}

/**
 * Verifies a login_hint_token (CIBA §7.1): a JWT signed by one of the configured issuers, with
 * `alg` on that issuer's allow-list (asymmetric only: never `none` or HMAC, which a public key set
 * cannot check), `iss` configured, `exp` required and not past (else `expired_login_hint_token`,
 * CIBA §13, told only for a token whose signature holds), `aud` holding the configured audience
 * when the issuer's configuration names one, and the issuer's subject claim a non-empty string.
 * Every other refusal is `invalid_request` naming the problem; the token is never echoed.
 */
export class LoginHintTokenVerifier {
  private readonly issuers: ReadonlyMap<string, TrustedLoginHintTokenIssuer>;

  constructor(private readonly options: LoginHintTokenVerifierOptions) {
    this.issuers = new Map(options.issuers.map((issuer) => [issuer.issuer, issuer]));
  }

  /** Whether any issuer is trusted: without one, login_hint_token is not supported at all. */
  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  async verify(token: string): Promise<LoginHintTokenSubject> {
    if (token.length > LOGIN_HINT_TOKEN_MAX_LENGTH) throw invalid(`login_hint_token must be at most ${LOGIN_HINT_TOKEN_MAX_LENGTH} characters`);
    let header: JWSHeaderParameters;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw invalid('login_hint_token is not a signed JWT');
    }
    const trusted = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    if (trusted === undefined) throw invalid('login_hint_token is not from a trusted issuer');
    if (typeof header.alg !== 'string' || !trusted.algorithms.includes(header.alg)) throw invalid('login_hint_token is signed with an algorithm its issuer may not use');
    // RFC 7515 §4.1.11: an extension the verifier must understand; none is supported here.
    if (header.crit !== undefined) throw invalid('login_hint_token has a critical header this provider does not understand');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (h: JWSHeaderParameters) => this.key(trusted, h), {
        algorithms: [header.alg],
        issuer: trusted.issuer,
        ...(trusted.audience === null ? {} : { audience: trusted.audience }),
        requiredClaims: ['exp', trusted.subjectClaim],
        currentDate: this.options.now(),
        clockTolerance: Math.floor(this.options.clockSkewMs / 1000),
      }));
    } catch (error) {
      throw refusal(error);
    }
    const value = payload[trusted.subjectClaim];
    if (typeof value !== 'string' || value.trim() === '' || value.length > SUBJECT_MAX_LENGTH) {
      throw invalid(`login_hint_token ${trusted.subjectClaim} claim must be a non-empty string`);
    }
    return { issuer: trusted.issuer, claim: trusted.subjectClaim, value };
  }

  private async key(trusted: TrustedLoginHintTokenIssuer, header: JWSHeaderParameters) {
    const { keys } = trusted;
    return 'jwksUri' in keys ? this.options.jwksCache.key(keys.jwksUri, header) : this.options.jwksCache.inline(keys.jwks, header);
  }
}

function invalid(description: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_request', description, cause === undefined ? {} : { cause });
}

/** jose's verdict as the client's error. jose checks the signature before any claim. */
function refusal(error: unknown): OAuthError {
  if (error instanceof errors.JWTExpired) return new OAuthError('expired_login_hint_token', 'login_hint_token has expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) return invalid(`login_hint_token ${error.claim} claim is missing or not valid`, error);
  if (error instanceof ClientJwksUnavailable) {
    return new OAuthError('temporarily_unavailable', "the login_hint_token issuer's keys cannot be fetched; retry later", { cause: error, headers: { 'Retry-After': '5' } });
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid('login_hint_token signature does not verify with its issuer keys', error);
  }
  return invalid('login_hint_token is not valid', error);
}
