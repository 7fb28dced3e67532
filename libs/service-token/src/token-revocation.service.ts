import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthenticatedClient, Clock, RefreshTokenRepository } from '@ciba/domain';
import { type ProviderConfig } from '@ciba/config';
import { OAuthError } from '@ciba/protocol';
import type { TokenOperationRequest } from './token-lifecycle.rules.js';
import { KeyStore, sha256Base64url, verifyAccessToken } from '@ciba/tokens';
import { CLOCK, PROVIDER_CONFIG, REFRESH_TOKEN_REPOSITORY } from '@ciba/platform';

/**
 * RFC 7009 §2.1: revocation. A refresh token of the client revokes its whole grant: every refresh
 * token issued with the authentication request and rotated from it, in one statement serialised with
 * rotations of that grant (a refresh racing the revocation either loses or has its new token revoked
 * too). A used (rotated) token of the client also names its grant and revokes it.
 *
 * Access tokens are self-contained JWTs, verified by resource servers without asking the provider:
 * they are not revocable and live until they expire (`CIBA_ACCESS_TOKEN_TTL`). A client presenting
 * its own valid access token is told so with `unsupported_token_type` (RFC 7009 §2.2.1) rather than
 * a 200 that would claim a revocation. An unknown token, another client's, an expired or an already
 * revoked one answers 200 and changes nothing (§2.2): the caller learns nothing about it.
 */
@Injectable()
export class TokenRevocationService {
  private readonly logger = new Logger(TokenRevocationService.name);

  constructor(
    @Inject(REFRESH_TOKEN_REPOSITORY) private readonly refreshTokens: RefreshTokenRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly keyStore: KeyStore,
  ) {}

  async revoke(client: AuthenticatedClient, request: TokenOperationRequest): Promise<void> {
    const now = this.clock.now();
    for (const kind of request.lookupOrder) {
      if (kind === 'refresh_token' && (await this.revokeRefreshToken(client, request.token, now))) return;
      if (kind === 'access_token') await this.refuseOwnAccessToken(client, request.token, now);
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

  private async refuseOwnAccessToken(client: AuthenticatedClient, token: string, now: Date): Promise<void> {
    const claims = await verifyAccessToken(token, { keyStore: this.keyStore, issuer: this.config.issuer, now });
    if (claims !== null && claims.clientId === client.clientId) {
      throw new OAuthError('unsupported_token_type', 'access tokens are self-contained and cannot be revoked; they expire on their own (revoke the refresh token to end the grant)');
    }
  }
}
