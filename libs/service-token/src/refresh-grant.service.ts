import { Inject, Injectable } from '@nestjs/common';
import type { AuthenticatedClient, Clock, RefreshTokenRepository } from '@ciba/domain';
import { tokenEndpointError } from '@ciba/protocol';
import { sha256Base64url } from '@ciba/tokens';
import { CLOCK, REFRESH_TOKEN_REPOSITORY, TokenIssuer, type TokenResponse } from '@ciba/platform';


/**
 * RFC 6749 §6: refresh. The refresh token rotates on every use — the old one dies atomically, so a
 * replayed token loses — and a narrower scope may be requested, never a wider one. The RFC 9396
 * authorization details granted with the request travel from refresh token to refresh token.
 */
@Injectable()
export class RefreshGrantService {
  constructor(
    @Inject(REFRESH_TOKEN_REPOSITORY) private readonly refreshTokens: RefreshTokenRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly issuer: TokenIssuer,
  ) {}

  async exchange(client: AuthenticatedClient, refreshToken: string, requestedScope: readonly string[] | null): Promise<TokenResponse> {
    const oldHash = sha256Base64url(refreshToken);
    const now = this.clock.now();
    const current = await this.refreshTokens.find(client.clientId, oldHash, now);
    const invalid = () => tokenEndpointError('invalid_grant', 'the refresh token is invalid, expired or already used');
    if (!current) throw invalid();
    const scope = requestedScope ?? current.scope;
    if (!scope.includes('openid') || scope.some((s) => !current.scope.includes(s))) {
      throw tokenEndpointError('invalid_scope', 'the requested scope must include openid and stay within the scope originally granted');
    }
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
    });
    const next = prepared.refreshTokenRecord;
    if (!next) {
      // The client lost the refresh_token grant or offline_access since: the old token still dies.
      const consumed = await this.refreshTokens.revoke(client.clientId, oldHash, now);
      if (!consumed) throw invalid();
      return prepared.response;
    }
    const rotated = await this.refreshTokens.rotate(client.clientId, oldHash, { ...next, scope: current.scope }, now);
    if (!rotated) throw invalid();
    return prepared.response;
  }
}
