import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import type { AccessTokenRevocations, ClientRepository, Clock, UserRepository } from '@ciba/domain';
import { ACCESS_TOKEN_REVOCATIONS, CLIENT_REPOSITORY, CLOCK, NO_STORE_HEADERS, OAuthExceptionFilter, PROVIDER_CONFIG, SubjectMapper, USER_REPOSITORY, claimsForScope } from '@ciba/platform';
import { resourceChallenge } from '@ciba/protocol';
import { KeyStore, verifyAccessToken } from '@ciba/tokens';
import { SenderConstraint } from './sender-constraint.js';
import { accessTokenOf } from './token-lifecycle.rules.js';

export const USERINFO_PATH = '/userinfo';

const hasParameter = (value: unknown, name: string): boolean => typeof value === 'object' && value !== null && Object.hasOwn(value, name);

/**
 * OpenID Connect Core §5.3 UserInfo: the end-user's claims for a valid access token with the
 * `openid` scope. The claims per scope are the ID token's (`claimsForScope`), `sub` always. The
 * access token comes in the Authorization header only (RFC 6750 §2.1), as a Bearer token or, bound
 * to the client's key, with the DPoP scheme and a proof (RFC 9449 §7); errors carry the RFC 6750 §3
 * / RFC 9449 §7.1 `WWW-Authenticate` challenges (`Bearer` and `DPoP algs=…`). A revoked access
 * token (RFC 7009) is refused like an expired one.
 */
@Controller(USERINFO_PATH.slice(1))
@UseFilters(OAuthExceptionFilter)
export class UserInfoController {
  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly keyStore: KeyStore,
    private readonly senderConstraint: SenderConstraint,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    private readonly subjects: SubjectMapper,
    @Inject(ACCESS_TOKEN_REVOCATIONS) private readonly revocations: AccessTokenRevocations,
  ) {}

  @Get()
  get(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    return this.userInfo(req, res);
  }

  @Post()
  @HttpCode(200)
  post(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<Record<string, unknown>> {
    return this.userInfo(req, res);
  }

  private async userInfo(req: Request, res: Response): Promise<Record<string, unknown>> {
    res.set(NO_STORE_HEADERS);
    const presented = accessTokenOf({
      authorization: req.headers.authorization,
      inQuery: hasParameter(req.query, 'access_token'),
      inBody: req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded' && hasParameter(req.body, 'access_token'),
    });
    const { scheme } = presented;
    const claims = await verifyAccessToken(presented.token, { keyStore: this.keyStore, issuer: this.config.issuer, now: this.clock.now() });
    if (claims === null || (claims.jti !== undefined && (await this.revocations.isRevoked(claims.jti)))) {
      throw resourceChallenge('invalid_token', 'the access token is invalid, expired or revoked', { scheme });
    }
    // RFC 9449 §7 / RFC 8705 §3: a sender-constrained token only from the holder of its key.
    await this.senderConstraint.checkResourceRequest(req, claims, presented, `${this.config.publicUrls.token}${USERINFO_PATH}`, res);
    if (!claims.scope.includes('openid')) throw resourceChallenge('insufficient_scope', 'the access token lacks the openid scope', { scope: 'openid', scheme });
    // OpenID Connect Core §8.1: a pairwise client's token names the user by its sector's sub; the
    // answer keeps that sub, the claims are the user's.
    const client = await this.clients.findById(claims.clientId);
    const sub = client === null ? null : await this.subjects.localSubject(client, claims.sub);
    const user = sub === null ? null : await this.users.findBySub(sub);
    if (user === null) throw resourceChallenge('invalid_token', 'the end-user of the access token no longer exists', { scheme });
    return { ...claimsForScope(user, claims.scope), sub: claims.sub };
  }
}
