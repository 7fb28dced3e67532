import { Inject, Injectable } from '@nestjs/common';
import type { AuthRequest, Client, Clock, RefreshTokenRecord, User, UserRepository } from '@ciba/domain';
import { REFRESH_TOKEN_GRANT_TYPE, tokenEndpointError } from '@ciba/protocol';
import { type AccessTokenSeed, type AccessTokenType, AuthReqIds, type Confirmation, type RefreshTokenSeed, TokenMinter } from '@ciba/tokens';
import { CLOCK, USER_REPOSITORY } from '../di/tokens.js';
import { SubjectMapper } from './pairwise-subjects.js';

/** RFC 6749 §5.1 token response (plus the OIDC id_token). */
export interface TokenResponse {
  access_token: string;
  /** RFC 9449 §5: `DPoP` when the access token is bound to the client's DPoP key. */
  token_type: AccessTokenType;
  expires_in: number;
  id_token: string;
  refresh_token?: string;
  scope: string;
  /** RFC 9396 §7: the authorization details granted, present when the request carried some. */
  authorization_details?: readonly Readonly<Record<string, unknown>>[];
}

export interface PreparedTokens {
  readonly response: TokenResponse;
  /** The access token's `jti` (an identifier, never the token): for the lifecycle events. */
  readonly accessTokenJti: string;
  readonly refreshTokenRecord: RefreshTokenRecord | null;
}

/** Which user claims each scope releases in the ID token (OIDC Core §5.4). */
export function claimsForScope(user: User, scope: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scope.includes('profile') && user.name !== null) claims['name'] = user.name;
  if (scope.includes('profile') && user.preferredUsername != null) claims['preferred_username'] = user.preferredUsername;
  if (scope.includes('email') && user.email !== null) {
    claims['email'] = user.email;
    claims['email_verified'] = user.emailVerified;
  }
  if (scope.includes('phone') && user.phoneNumber !== null) {
    claims['phone_number'] = user.phoneNumber;
    claims['phone_number_verified'] = user.phoneNumberVerified;
  }
  return claims;
}

/**
 * Mints the token set for an approved request or a refresh: the one implementation, used by the token
 * service (poll and ping, refresh) and the callback dispatcher (push, CIBA §10.3).
 */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly minter: TokenMinter,
    private readonly authReqIds: AuthReqIds,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly subjects: SubjectMapper,
  ) {}

  /** A refresh token is issued only to clients registered for refresh_token that asked for offline_access. */
  mayRefresh(client: Client, scope: readonly string[]): boolean {
    return client.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE) && scope.includes('offline_access');
  }

  /** A refresh token for `client`, made (and stored with the redemption) before the tokens are minted; null when it may not refresh. */
  newRefreshToken(client: Client): RefreshTokenSeed | null {
    return client.grantTypes.includes(REFRESH_TOKEN_GRANT_TYPE) ? this.minter.newRefreshToken() : null;
  }

  /** The `jti` (and expiry) of the next access token, made before it is minted so that the statement issuing it stores it. */
  newAccessToken(): AccessTokenSeed {
    return this.minter.newAccessToken();
  }

  /**
   * `options.user`: the end-user when the caller already read them (null: they no longer exist);
   * otherwise looked up. `options.refreshToken`: the refresh token to issue, already stored.
   * `options.confirmation`: the key the access token is bound to (RFC 9449, RFC 8705); push mode
   * tokens, delivered by the provider itself, have none.
   */
  async prepare(
    client: Client,
    request: AuthRequest,
    options: { includeRtHash?: boolean; user?: User | null; refreshToken?: string | null; accessTokenJti?: string | null; confirmation?: Confirmation } = {},
  ): Promise<PreparedTokens> {
    return this.prepareFor(client, {
      user: options.user,
      refreshToken: options.refreshToken ?? null,
      accessTokenJti: options.accessTokenJti ?? null,
      ...(options.confirmation !== undefined ? { confirmation: options.confirmation } : {}),
      subject: request.subject,
      scope: request.scope,
      authTime: request.decidedAt ?? this.clock.now(),
      // Only a passkey step-up sets them: an approval by opening a link asserts no ACR.
      acr: request.acr,
      amr: request.amr,
      // CIBA §10.3.1 / §7.3: the handle the client holds, re-derived (it is never stored).
      authReqId: this.authReqIds.issue(request.id, request.clientId),
      requestId: request.id,
      includeRtHash: options.includeRtHash ?? false,
      authorizationDetails: request.authorizationDetails,
    });
  }

  async prepareFor(
    client: Client,
    input: {
      subject: string;
      scope: readonly string[];
      authTime: Date;
      acr: string | null;
      /** RFC 8176; empty leaves the claim out. */
      amr: readonly string[];
      authReqId: string | null;
      requestId: string;
      includeRtHash: boolean;
      /** RFC 9396: as granted with the request (the same on every refresh); null when none were requested. */
      authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
      /** Already read by the caller (null: no longer exists); undefined: looked up here. */
      user?: User | null;
      refreshToken?: string | null;
      /** The access token's `jti`, already stored (`newAccessToken`); absent: a new one. */
      accessTokenJti?: string | null;
      /** RFC 7800 `cnf` of the access token (RFC 9449 `jkt`, RFC 8705 `x5t#S256`); absent: a bearer token. */
      confirmation?: Confirmation;
    },
  ): Promise<PreparedTokens> {
    const user = input.user === undefined ? await this.users.findBySub(input.subject) : input.user;
    if (!user) throw tokenEndpointError('invalid_grant', 'the end-user no longer exists');
    // OpenID Connect Core §8.1: a pairwise client sees its sector's sub (recorded for the way back).
    const subjectClaim = await this.subjects.issue(client, input.subject);
    const minted = await this.minter.mint({
      clientId: client.clientId,
      subject: input.subject,
      subjectClaim,
      scope: [...input.scope],
      authTime: input.authTime,
      acr: input.acr,
      amr: input.amr,
      authReqId: input.authReqId,
      requestId: input.requestId,
      includeRefreshToken: this.mayRefresh(client, input.scope),
      refreshToken: input.refreshToken ?? null,
      accessTokenJti: input.accessTokenJti ?? null,
      includeRtHash: input.includeRtHash,
      claims: claimsForScope(user, input.scope),
      authorizationDetails: input.authorizationDetails,
      // Every ID token of the client (poll, ping, push, refresh) in the algorithm it registered.
      idTokenAlg: client.idTokenSignedResponseAlg,
      ...(input.confirmation !== undefined ? { confirmation: input.confirmation } : {}),
    });
    const response: TokenResponse = {
      access_token: minted.accessToken,
      token_type: minted.tokenType,
      expires_in: minted.expiresIn,
      id_token: minted.idToken,
      scope: minted.scope,
    };
    if (minted.refreshToken) response.refresh_token = minted.refreshToken;
    if (input.authorizationDetails !== null) response.authorization_details = input.authorizationDetails;
    return { response, accessTokenJti: minted.accessTokenJti, refreshTokenRecord: minted.refreshTokenRecord };
  }
}
