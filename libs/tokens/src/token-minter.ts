import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock, RefreshTokenRecord } from '@ciba/domain';
import { AUTH_REQ_ID_CLAIM, RT_HASH_CLAIM, type SigningAlg } from '@ciba/protocol';
import { type AccessTokenType, type Confirmation, accessTokenTypeOf, nonEmptyConfirmation } from './confirmation.js';
import type { KeyStore } from './key-store.js';
import { randomToken, sha256Base64url } from './random.js';

/**
 * OIDC Core §3.1.3.6 / §3.3.2.11: the left-most half of the hash of the ASCII token, base64url.
 * The hash is the one of the ID token's JWS alg; for EdDSA with Ed25519 it is SHA-512, as OpenID
 * implementations agree.
 */
export function halfHash(value: string, alg: string): string {
  let digest: 'sha256' | 'sha512';
  switch (alg) {
    case 'ES256':
    case 'RS256':
    case 'PS256':
      digest = 'sha256';
      break;
    case 'EdDSA':
      digest = 'sha512';
      break;
    default:
      throw new Error(`no token hash is defined here for alg ${alg}`);
  }
  const hash = createHash(digest).update(value, 'ascii').digest();
  return hash.subarray(0, hash.length / 2).toString('base64url');
}

/** Claims the minter owns; `claims` passed by the caller cannot override them. */
const RESERVED_ID_TOKEN_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'auth_time',
  'acr',
  'amr',
  'at_hash',
  'c_hash',
  AUTH_REQ_ID_CLAIM,
  RT_HASH_CLAIM,
]);

export interface TokenMinterOptions {
  readonly keyStore: KeyStore;
  readonly issuer: string;
  readonly clock: Clock;
  /** Seconds. */
  readonly accessTokenTtl: number;
  /** Seconds. */
  readonly idTokenTtl: number;
  /** Seconds. */
  readonly refreshTokenTtl: number;
  /** RFC 9068 `aud` of access tokens (a resource indicator); defaults to the issuer. */
  readonly accessTokenAudience?: string | readonly string[];
}

export interface MintInput {
  readonly clientId: string;
  /** The end-user's own `sub`: kept with the refresh token, and the tokens' `sub` unless `subjectClaim` says otherwise. */
  readonly subject: string;
  /** OpenID Connect Core §8.1: the `sub` the client sees, when it is not the user's own (a pairwise identifier). */
  readonly subjectClaim?: string;
  readonly scope: readonly string[];
  readonly authTime: Date;
  readonly acr?: string | null;
  /** RFC 8176 authentication methods; omitted from the tokens when empty. */
  readonly amr?: readonly string[];
  /** CIBA §10.3.1: binds the ID token to the authentication request. */
  readonly authReqId?: string | null;
  readonly requestId: string;
  readonly includeRefreshToken: boolean;
  /** The refresh token to issue when one is included, made (and stored) beforehand with `newRefreshToken`; otherwise a new one. */
  readonly refreshToken?: string | null;
  /**
   * The access token's `jti`, made (and stored with the redemption or rotation) beforehand with
   * `newAccessToken`, so that a resource server's report about the token finds its request as soon
   * as the token is issued; otherwise a new one.
   */
  readonly accessTokenJti?: string | null;
  /** CIBA §10.3.1 push mode: put `urn:openid:params:jwt:claim:rt_hash` in the ID token. */
  readonly includeRtHash?: boolean;
  /** Extra ID token claims the scope asked for, e.g. name, email. */
  readonly claims?: Readonly<Record<string, unknown>>;
  /**
   * RFC 9396 authorization details granted with the request: the access token's
   * `authorization_details` claim (§9.1), kept on the refresh token for the tokens refreshed from it.
   */
  readonly authorizationDetails?: readonly Readonly<Record<string, unknown>>[] | null;
  /**
   * The client's `id_token_signed_response_alg` (OpenID Connect Dynamic Client Registration 1.0 §2):
   * the ID token's algorithm; null or absent for the key store's default. Access tokens always use
   * the default.
   */
  readonly idTokenAlg?: SigningAlg | null;
  /**
   * RFC 7800 confirmation binding the access token to a key of the client (RFC 9449 DPoP `jkt`,
   * RFC 8705 mTLS `x5t#S256`): its `cnf` claim. Absent: a bearer token.
   */
  readonly confirmation?: Confirmation;
}

/** A refresh token and what is stored of it. */
export interface RefreshTokenSeed {
  readonly value: string;
  readonly tokenHash: string;
  readonly expiresAt: Date;
}

/** An access token's identifier and expiry, made before it is minted so that they can be stored in the statement that issues it. */
export interface AccessTokenSeed {
  readonly jti: string;
  readonly expiresAt: Date;
}

export interface MintedTokens {
  readonly accessToken: string;
  /** The access token's `jti`: an identifier, not a credential (it cannot be used as the token). */
  readonly accessTokenJti: string;
  readonly idToken: string;
  /** Returned to the client once; only its hash is stored. */
  readonly refreshToken: string | null;
  readonly refreshTokenRecord: RefreshTokenRecord | null;
  /** Access token lifetime in seconds. */
  readonly expiresIn: number;
  /** `DPoP` when the access token is DPoP-bound (RFC 9449 §5), else `Bearer`. */
  readonly tokenType: AccessTokenType;
  readonly scope: string;
}

// The verifier of the access tokens minted here, for the endpoints they are presented back to.
export { type AccessTokenCheck, type AccessTokenClaims, verifyAccessToken } from './access-token.js';

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

function checkTtl(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive whole number of seconds, got ${value}`);
  return value;
}

/** Mints the token response of a successful CIBA or refresh-token grant. */
export class TokenMinter {
  private readonly keyStore: KeyStore;
  private readonly issuer: string;
  private readonly clock: Clock;
  private readonly accessTokenTtl: number;
  private readonly idTokenTtl: number;
  private readonly refreshTokenTtl: number;
  private readonly accessTokenAudience: string | string[];

  constructor(options: TokenMinterOptions) {
    this.keyStore = options.keyStore;
    this.issuer = options.issuer;
    this.clock = options.clock;
    this.accessTokenTtl = checkTtl('accessTokenTtl', options.accessTokenTtl);
    this.idTokenTtl = checkTtl('idTokenTtl', options.idTokenTtl);
    this.refreshTokenTtl = checkTtl('refreshTokenTtl', options.refreshTokenTtl);
    const audience = options.accessTokenAudience ?? options.issuer;
    this.accessTokenAudience = typeof audience === 'string' ? audience : [...audience];
  }

  /** A refresh token made before the tokens are minted, so that it can be stored in the statement that redeems the request. */
  newRefreshToken(): RefreshTokenSeed {
    const value = randomToken(32);
    return { value, tokenHash: sha256Base64url(value), expiresAt: new Date(this.clock.now().getTime() + this.refreshTokenTtl * 1000) };
  }

  /** An access token's `jti` made before the token is minted (`MintInput.accessTokenJti`), with the expiry it will have. */
  newAccessToken(): AccessTokenSeed {
    return { jti: randomToken(16), expiresAt: new Date(this.clock.now().getTime() + this.accessTokenTtl * 1000) };
  }

  async mint(input: MintInput): Promise<MintedTokens> {
    const now = this.clock.now();
    const iat = seconds(now);
    const authTime = seconds(input.authTime);
    const acr = input.acr ?? null;
    const amr = [...(input.amr ?? [])];
    const scope = input.scope.join(' ');
    const authorizationDetails = input.authorizationDetails ?? null;
    const confirmation = nonEmptyConfirmation(input.confirmation);
    const { kid, alg, key } = this.keyStore.signingKey();
    const accessTokenJti = input.accessTokenJti ?? randomToken(16);
    const idTokenKey = this.keyStore.signingKey(input.idTokenAlg ?? undefined);

    // RFC 9068 §2.2: JWT access token claims; RFC 9396 §9.1: authorization_details as granted.
    const accessToken = await new SignJWT({
      client_id: input.clientId,
      scope,
      auth_time: authTime,
      ...(acr !== null ? { acr } : {}),
      ...(amr.length > 0 ? { amr } : {}),
      ...(authorizationDetails !== null ? { authorization_details: authorizationDetails } : {}),
      // RFC 7800 §3.1 / RFC 9449 §6.1 / RFC 8705 §3.1: the key the token is bound to.
      ...(confirmation !== undefined ? { cnf: { ...confirmation } } : {}),
    })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(input.subjectClaim ?? input.subject)
      .setAudience(this.accessTokenAudience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.accessTokenTtl)
      .setJti(accessTokenJti)
      .sign(key);

    const refreshToken = input.includeRefreshToken ? (input.refreshToken ?? randomToken(32)) : null;
    const refreshTokenRecord: RefreshTokenRecord | null =
      refreshToken === null
        ? null
        : {
            tokenHash: sha256Base64url(refreshToken),
            clientId: input.clientId,
            subject: input.subject,
            scope: [...input.scope],
            authTime: input.authTime,
            acr,
            amr,
            expiresAt: new Date(now.getTime() + this.refreshTokenTtl * 1000),
            requestId: input.requestId,
            authorizationDetails,
          };

    const extraClaims = Object.fromEntries(
      Object.entries(input.claims ?? {}).filter(([name]) => !RESERVED_ID_TOKEN_CLAIMS.has(name)),
    );
    const idToken = await new SignJWT({
      ...extraClaims,
      auth_time: authTime,
      // OIDC Core §3.1.3.6: the hashes use the ID token's own algorithm, whatever signed the access token.
      at_hash: halfHash(accessToken, idTokenKey.alg),
      ...(acr !== null ? { acr } : {}),
      ...(amr.length > 0 ? { amr } : {}),
      ...(input.authReqId ? { [AUTH_REQ_ID_CLAIM]: input.authReqId } : {}),
      ...(refreshToken !== null && input.includeRtHash === true ? { [RT_HASH_CLAIM]: halfHash(refreshToken, idTokenKey.alg) } : {}),
    })
      .setProtectedHeader({ alg: idTokenKey.alg, kid: idTokenKey.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(input.subjectClaim ?? input.subject)
      .setAudience(input.clientId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.idTokenTtl)
      .sign(idTokenKey.key);

    return { accessToken, accessTokenJti, idToken, refreshToken, refreshTokenRecord, expiresIn: this.accessTokenTtl, tokenType: accessTokenTypeOf(confirmation), scope };
  }
}
