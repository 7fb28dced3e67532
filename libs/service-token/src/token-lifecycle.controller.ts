import { All, Controller, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ClientAuthenticator, NO_STORE_HEADERS, OAuthExceptionFilter, formParamsOf, methodNotAllowed } from '@ciba/platform';
import { validateTokenOperationRequest } from './token-lifecycle.rules.js';
import { type IntrospectionResponse, TokenIntrospectionService } from './token-introspection.service.js';
import { TokenRevocationService } from './token-revocation.service.js';

export const INTROSPECTION_PATH = '/token/introspect';
export const REVOCATION_PATH = '/token/revoke';

/**
 * RFC 7662 introspection and RFC 7009 revocation, below `/token` so that they reach the token
 * service wherever `/token` does. Both take the client authentication of the token endpoint (with
 * its throttle), then `token` and `token_type_hint`.
 */
@Controller('token')
@UseFilters(OAuthExceptionFilter)
export class TokenLifecycleController {
  constructor(
    private readonly clientAuthenticator: ClientAuthenticator,
    private readonly introspection: TokenIntrospectionService,
    private readonly revocation: TokenRevocationService,
  ) {}

  @Post('introspect')
  @HttpCode(200)
  async introspect(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<IntrospectionResponse> {
    res.set(NO_STORE_HEADERS);
    const params = formParamsOf(req);
    const client = await this.clientAuthenticator.authenticate(req, params);
    return this.introspection.introspect(client, validateTokenOperationRequest(params));
  }

  @Post('revoke')
  @HttpCode(200)
  async revoke(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<Record<string, never>> {
    res.set(NO_STORE_HEADERS);
    const params = formParamsOf(req);
    const client = await this.clientAuthenticator.authenticate(req, params);
    await this.revocation.revoke(client, validateTokenOperationRequest(params));
    // RFC 7009 §2.2: the content of the 200 response is ignored by the client.
    return {};
  }

  @All(['introspect', 'revoke'])
  otherMethods(): never {
    throw methodNotAllowed('POST');
  }
}
