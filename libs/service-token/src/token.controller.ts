import { All, Controller, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ClientAuthenticator, NO_STORE_HEADERS, OAuthExceptionFilter, formParamsOf, methodNotAllowed } from '@ciba/platform';
import { assertClientMayUseGrant, validateTokenRequest } from '@ciba/protocol';
import { CibaGrantService } from './ciba-grant.service.js';
import { RefreshGrantService } from './refresh-grant.service.js';
import { SenderConstraint } from './sender-constraint.js';

/** RFC 6749 §3.2 token endpoint: the CIBA grant (CIBA §10.1) and refresh_token (RFC 6749 §6). */
@Controller('token')
@UseFilters(OAuthExceptionFilter)
export class TokenController {
  constructor(
    private readonly clientAuthenticator: ClientAuthenticator,
    private readonly ciba: CibaGrantService,
    private readonly refresh: RefreshGrantService,
    private readonly senderConstraint: SenderConstraint,
  ) {}

  @Post()
  @HttpCode(200)
  async token(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    res.set(NO_STORE_HEADERS);
    const params = formParamsOf(req);
    const client = await this.clientAuthenticator.authenticate(req, params);
    const tokenRequest = validateTokenRequest(params);
    assertClientMayUseGrant(client.grantTypes, tokenRequest.grantType);
    // RFC 9449 §5 / RFC 8705 §3: the key the access token is bound to, checked before the grant is used.
    const confirmation = await this.senderConstraint.confirmationFor(req, client, params, res);
    switch (tokenRequest.grantType) {
      case 'urn:openid:params:grant-type:ciba':
        return this.ciba.exchange(client, tokenRequest.authReqId, confirmation);
      case 'refresh_token':
        return this.refresh.exchange(client, tokenRequest.refreshToken, tokenRequest.scope, confirmation);
    }
  }

  @All()
  otherMethods(): never {
    throw methodNotAllowed('POST');
  }
}
