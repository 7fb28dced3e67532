import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import type { Clock, UserRepository } from '@ciba/domain';
import { CLOCK, NO_STORE_HEADERS, OAuthExceptionFilter, PROVIDER_CONFIG, USER_REPOSITORY, claimsForScope } from '@ciba/platform';
import { bearerError, bearerTokenOf } from './token-lifecycle.rules.js';
import { KeyStore, verifyAccessToken } from '@ciba/tokens';

export const USERINFO_PATH = '/userinfo';

const hasParameter = (value: unknown, name: string): boolean => typeof value === 'object' && value !== null && Object.hasOwn(value, name);

/**
 * OpenID Connect Core §5.3 UserInfo: the end-user's claims for a valid access token with the
 * `openid` scope. The claims per scope are the ID token's (`claimsForScope`), `sub` always. The
 * access token comes in the Authorization header only (RFC 6750 §2.1); errors carry the RFC 6750 §3
 * `WWW-Authenticate: Bearer` challenge.
 */
@Controller(USERINFO_PATH.slice(1))
@UseFilters(OAuthExceptionFilter)
export class UserInfoController {
  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly keyStore: KeyStore,
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
    const token = bearerTokenOf({
      authorization: req.headers.authorization,
      inQuery: hasParameter(req.query, 'access_token'),
      inBody: req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded' && hasParameter(req.body, 'access_token'),
    });
    const claims = await verifyAccessToken(token, { keyStore: this.keyStore, issuer: this.config.issuer, now: this.clock.now() });
    if (claims === null) throw bearerError('invalid_token', 'the access token is invalid or has expired');
    if (!claims.scope.includes('openid')) throw bearerError('insufficient_scope', 'the access token lacks the openid scope', 'openid');
    const user = await this.users.findBySub(claims.sub);
    if (user === null) throw bearerError('invalid_token', 'the end-user of the access token no longer exists');
    return { ...claimsForScope(user, claims.scope), sub: claims.sub };
  }
}
