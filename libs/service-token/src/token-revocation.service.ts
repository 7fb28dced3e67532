import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AccessTokenRevocations, AuthenticatedClient, Clock, RefreshTokenRepository } from '@ciba/domain';
import { type ProviderConfig } from '@ciba/config';
import { OAuthError } from '@ciba/protocol';
import type { TokenOperationRequest } from './token-lifecycle.rules.js';
import { KeyStore, sha256Base64url, verifyAccessToken } from '@ciba/tokens';
import { ACCESS_TOKEN_REVOCATIONS, CLOCK, PROVIDER_CONFIG, REFRESH_TOKEN_REPOSITORY } from '@ciba/platform';

/**
 * RFC 7009 §2.1: revocation. A refresh token of the client revokes its whole grant: every refresh
 * token issued with the authentication request and rotated from it, in one statement serialised with
 * rotations of that grant (a refresh racing the revocation either loses or has its new token revoked
 * too), and every access token of the grant with them. A used (rotated) token of the client also
 * names its grant and revokes it.
 *
 * An access token of the client is revoked by its `jti`: introspection then calls it inactive and
 * UserInfo refuses it. Resource servers that verify the JWT themselves do not see a revocation (they
 * should introspect where that matters); the token still ends at its expiry. An access token issued
 * before access tokens were recorded cannot be revoked: the client is told so with
 * `unsupported_token_type` (§2.2.1) rather than a 200 that would claim a revocation. An unknown
 * token, another client's, an expired or an already revoked one answers 200 and changes nothing
 * (§2.2): the caller learns nothing about it.
 */
@Injectable()
export class TokenRevocationService {
  private readonly logger = new Logger(TokenRevocationService.name);

  constructor(
    @Inject(REFRESH_TOKEN_REPOSITORY) private readonly refreshTokens: RefreshTokenRepository,
    @Inject(ACCESS_TOKEN_REVOCATIONS) private readonly accessTokens: AccessTokenRevocations,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly keyStore: KeyStore,
  ) {}

  async revoke(client: AuthenticatedClient, request: TokenOperationRequest): Promise<void> {
    const now = this.clock.now();
    for (const kind of request.lookupOrder) {
      if (kind === 'refresh_token' && (await this.revokeRefreshToken(client, request.token, now))) return;
      if (kind === 'access_token' && (await this.revokeAccessToken(client, request.token, now))) return;
    }
  }

  /** True when the token is one of the client's refresh tokens (its grant is revoked now, or was). */
  private async revokeRefreshToken(client: AuthenticatedClient, token: string, now: Date): Promise<boolean> {
    const found = await this.refreshTokens.find(client.clientId, sha256Base64url(token), now);
    if (found.kind === 'invalid') return false;
    const requestId = found.kind === 'active' ? found.record.requestId : found.requestId;
    const revoked = await this.refreshTokens.revokeFamily(client.clientId, requestId, now);
    this.logger.log({ requestId, clientId: client.clientId, revoked }, 'refresh token revoked (RFC 7009): revoked every refresh token of the grant');
    return true;
  }

  /** True when the token is one of the client's valid access tokens (revoked now, or already). */
  private async revokeAccessToken(client: AuthenticatedClient, token: string, now: Date): Promise<boolean> {
    const claims = await verifyAccessToken(token, { keyStore: this.keyStore, issuer: this.config.issuer, now });
    if (claims === null || claims.clientId !== client.clientId) return false;
    if (claims.jti === undefined || !(await this.accessTokens.revoke(client.clientId, claims.jti, now))) {
      throw new OAuthError('unsupported_token_type', 'this access token was issued before access tokens could be revoked; it expires on its own (revoke the refresh token to end the grant)');
    }
    this.logger.log({ clientId: client.clientId }, 'access token revoked (RFC 7009)');
    return true;
  }
}
