import { Inject, Injectable, Logger } from '@nestjs/common';
import { type AuthenticatedClient, type Clock, type EventPublisher, type RefreshTokenRecord, type RefreshTokenRepository, tokensRefreshed } from '@ciba/domain';
import { tokenEndpointError } from '@ciba/protocol';
import { type Confirmation, sha256Base64url } from '@ciba/tokens';
import { CLOCK, EVENT_PUBLISHER, REFRESH_TOKEN_REPOSITORY, TokenIssuer, type TokenResponse } from '@ciba/platform';

/**
 * RFC 6749 §6: refresh. The refresh token rotates on every use — the old one dies atomically — and a
 * narrower scope may be requested, never a wider one. The RFC 9396 authorization details granted
 * with the request travel from refresh token to refresh token.
 *
 * RFC 9700 §4.14.2: a rotated token presented again means the client or an attacker is replaying
 * it, and the provider cannot tell which: every refresh token of that grant is revoked, the current
 * one included. Two simultaneous uses of one token by the legitimate client look the same: one wins
 * the rotation, the other is a replay, and the winner's new token is revoked too (the client must
 * start a new authentication request). Access tokens already issued are not revocable (JWTs) and
 * live until they expire.
 *
 * Each new access token's `jti` is made first and recorded by the statement that consumes the old
 * refresh token, so a resource server's report about the token finds the request at once; the
 * `auth_request.tokens_refreshed` event adds it to the request's audit evidence record.
 */
@Injectable()
export class RefreshGrantService {
  private readonly logger = new Logger(RefreshGrantService.name);

  constructor(
    @Inject(REFRESH_TOKEN_REPOSITORY) private readonly refreshTokens: RefreshTokenRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly issuer: TokenIssuer,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
  ) {}

  /**
   * `confirmation`: the key the new access token is bound to (RFC 9449 DPoP, RFC 8705 mTLS). The
   * refresh token of a confidential client is not bound (RFC 9449 §5): client authentication
   * already protects it.
   */
  async exchange(
    client: AuthenticatedClient,
    refreshToken: string,
    requestedScope: readonly string[] | null,
    confirmation?: Confirmation,
  ): Promise<TokenResponse> {
    const oldHash = sha256Base64url(refreshToken);
    const now = this.clock.now();
    const found = await this.refreshTokens.find(client.clientId, oldHash, now);
    if (found.kind === 'used') return this.replayed(client, found.requestId, now);
    if (found.kind === 'invalid') throw invalid();
    const current = found.record;
    const scope = requestedScope ?? current.scope;
    if (!scope.includes('openid') || scope.some((s) => !current.scope.includes(s))) {
      throw tokenEndpointError('invalid_scope', 'the requested scope must include openid and stay within the scope originally granted');
    }
    const accessToken = this.issuer.newAccessToken();
    const prepared = await this.issuer.prepareFor(client, {
      subject: current.subject,
      scope,
      authTime: current.authTime,
      acr: current.acr,
      amr: current.amr,
      authReqId: null,
      requestId: current.requestId,
      includeRtHash: false,
      // RFC 9396 §7: no authorization_details in the request, so the details granted originally apply.
      authorizationDetails: current.authorizationDetails,
      accessTokenJti: accessToken.jti,
      ...(confirmation !== undefined ? { confirmation } : {}),
    });
    const next = prepared.refreshTokenRecord;
    if (!next) {
      // The client lost the refresh_token grant or offline_access since: the old token still dies.
      const consumed = await this.refreshTokens.revoke(client.clientId, oldHash, now, accessToken);
      if (!consumed) throw invalid();
      await this.published(current, prepared.accessTokenJti, scope, now);
      return prepared.response;
    }
    const rotation = await this.refreshTokens.rotate(client.clientId, oldHash, { ...next, scope: current.scope }, now, accessToken);
    switch (rotation.kind) {
      case 'rotated':
        await this.published(current, prepared.accessTokenJti, scope, now);
        return prepared.response;
      case 'used':
        // Another use of this token won the rotation while this one was minting.
        return this.replayed(client, rotation.requestId, now);
      case 'invalid':
        throw invalid();
    }
  }

  /** The tokens are already the client's; a lost audit event must not turn this into an error. */
  private async published(grant: RefreshTokenRecord, accessTokenJti: string, scope: readonly string[], now: Date): Promise<void> {
    await this.events
      .publish(tokensRefreshed(grant, accessTokenJti, scope, now))
      .catch((err: unknown) => this.logger.warn({ err, requestId: grant.requestId }, 'could not publish auth_request.tokens_refreshed'));
  }

  private async replayed(client: AuthenticatedClient, requestId: string, now: Date): Promise<never> {
    const revoked = await this.refreshTokens.revokeFamily(client.clientId, requestId, now);
    this.logger.warn({ requestId, clientId: client.clientId, revoked }, 'refresh token reuse (RFC 9700 §4.14.2): revoked every refresh token of the grant');
    throw invalid();
  }
}

const invalid = () => tokenEndpointError('invalid_grant', 'the refresh token is invalid, expired or already used');
