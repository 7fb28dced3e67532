import { Inject, Injectable } from '@nestjs/common';
import type { AccessTokenRevocations, AuthenticatedClient, Clock, RefreshTokenRepository } from '@ciba/domain';
import { type ProviderConfig } from '@ciba/config';
import type { TokenKind, TokenOperationRequest } from './token-lifecycle.rules.js';
import { type AccessTokenType, type Confirmation, KeyStore, accessTokenTypeOf, sha256Base64url, verifyAccessToken } from '@ciba/tokens';
import { ACCESS_TOKEN_REVOCATIONS, CLOCK, PROVIDER_CONFIG, REFRESH_TOKEN_REPOSITORY, SubjectMapper } from '@ciba/platform';

/** RFC 7662 §2.2 introspection response: `{active: false}` alone, or the active token's description. */
export type IntrospectionResponse =
  | { readonly active: false }
  | {
      readonly active: true;
      readonly scope: string;
      readonly client_id: string;
      readonly sub: string;
      readonly exp: number;
      /** The access token's `iat`; a refresh token's time of issue as stored. */
      readonly iat?: number;
      readonly iss: string;
      readonly aud: string | readonly string[];
      /** RFC 9449 §5 / RFC 7662 §2.2: `DPoP` for a DPoP-bound access token. */
      readonly token_type?: AccessTokenType;
      /** RFC 7800 / RFC 9449 §6.2 / RFC 8705 §3.2: the key a sender-constrained access token is bound to. */
      readonly cnf?: Confirmation;
    };

const INACTIVE: IntrospectionResponse = { active: false };
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/**
 * RFC 7662 §2: a client introspects the tokens issued to it, and only those: another client's token
 * is `{active: false}` exactly as an unknown one (§2.2 lets the server decide per caller), so the
 * endpoint is no oracle. Active means:
 * - an access token: signed by a published key, this issuer, `at+jwt`, not expired, and not revoked
 *   (RFC 7009: by the client, or with its grant's refresh token);
 * - a refresh token: stored, not rotated, not revoked (alone or with its grant), not expired.
 */
@Injectable()
export class TokenIntrospectionService {
  constructor(
    @Inject(REFRESH_TOKEN_REPOSITORY) private readonly refreshTokens: RefreshTokenRepository,
    @Inject(ACCESS_TOKEN_REVOCATIONS) private readonly accessTokens: AccessTokenRevocations,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly keyStore: KeyStore,
    private readonly subjects: SubjectMapper,
  ) {}

  async introspect(client: AuthenticatedClient, request: TokenOperationRequest): Promise<IntrospectionResponse> {
    const now = this.clock.now();
    for (const kind of request.lookupOrder) {
      const found = await this.lookUp(kind, client, request.token, now);
      if (found !== null) return found;
    }
    return INACTIVE;
  }

  private lookUp(kind: TokenKind, client: AuthenticatedClient, token: string, now: Date): Promise<IntrospectionResponse | null> {
    switch (kind) {
      case 'access_token':
        return this.accessToken(client, token, now);
      case 'refresh_token':
        return this.refreshToken(client, token, now);
    }
  }

  private async accessToken(client: AuthenticatedClient, token: string, now: Date): Promise<IntrospectionResponse | null> {
    const claims = await verifyAccessToken(token, { keyStore: this.keyStore, issuer: this.config.issuer, now });
    if (claims === null || claims.clientId !== client.clientId) return null;
    // Revoked: inactive, and no other kind of token either (it is this client's access token).
    if (claims.jti !== undefined && (await this.accessTokens.isRevoked(claims.jti))) return INACTIVE;
    return {
      active: true,
      scope: claims.scope.join(' '),
      client_id: claims.clientId,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      token_type: accessTokenTypeOf(claims.cnf),
      ...(claims.cnf === undefined ? {} : { cnf: claims.cnf }),
    };
  }

  private async refreshToken(client: AuthenticatedClient, token: string, now: Date): Promise<IntrospectionResponse | null> {
    const found = await this.refreshTokens.find(client.clientId, sha256Base64url(token), now);
    if (found.kind !== 'active') return null;
    const { record } = found;
    return {
      active: true,
      scope: record.scope.join(' '),
      client_id: record.clientId,
      // The refresh token keeps the user's own sub; the client knows them by its own (OpenID Connect Core §8.1).
      sub: this.subjects.subjectFor(client, record.subject),
      exp: seconds(record.expiresAt),
      ...(record.issuedAt === undefined ? {} : { iat: seconds(record.issuedAt) }),
      iss: this.config.issuer,
      // A refresh token is presented to the provider alone.
      aud: this.config.issuer,
    };
  }
}
