import { All, Controller, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ClientAuthenticator, NO_STORE_HEADERS, OAuthExceptionFilter, formParamsOf, methodNotAllowed, requestCorrelationId } from '@ciba/platform';
import { RequestObjectVerifier } from '@ciba/tokens';
import { BackchannelAuthenticationService } from './backchannel-authentication.service.js';

/** CIBA §7: the Backchannel Authentication Endpoint. */
@Controller('bc-authorize')
@UseFilters(OAuthExceptionFilter)
export class BackchannelAuthenticationController {
  constructor(
    private readonly clientAuthenticator: ClientAuthenticator,
    private readonly requestObjects: RequestObjectVerifier,
    private readonly service: BackchannelAuthenticationService,
  ) {}

  /**
   * Client authentication reads the form; then, CIBA §7.1.1, a signed request's parameters are taken
   * from its request object only (those beside it are ignored), and the request's checks run on them.
   */
  @Post()
  @HttpCode(200)
  async authenticate(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const params = formParamsOf(req);
    const client = await this.clientAuthenticator.authenticate(req, params);
    const requestParams = await this.requestObjects.authenticationRequestParams(client, params);
    const body = await this.service.handle(client, requestParams, requestCorrelationId(req));
    res.set(NO_STORE_HEADERS);
    return body;
  }

  @All()
  otherMethods(): never {
    throw methodNotAllowed('POST');
  }
}
