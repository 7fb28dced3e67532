import { All, Controller, HttpCode, Post, Req, UseFilters } from '@nestjs/common';
import type { Request } from 'express';
import { OAuthError } from '@ciba/protocol';
import { OAuthExceptionFilter, methodNotAllowed } from '@ciba/platform';
import { DEVICE_STATUSES, DeviceDecisionService, type DeviceStatus } from './device-decision.service.js';
import { HTTP_CHANNEL } from './channels/http-authentication.channel.js';

/** Where the authentication device answers: Keycloak-compatible `POST /ext/ciba/auth/callback`. */
@Controller('ext/ciba/auth/callback')
@UseFilters(OAuthExceptionFilter)
export class AuthCallbackController {
  constructor(private readonly decisions: DeviceDecisionService) {}

  @Post()
  @HttpCode(200)
  async callback(@Req() req: Request): Promise<Record<string, never>> {
    const status = parseStatus(req);
    await this.decisions.decide(bearerToken(req.headers.authorization), status, HTTP_CHANNEL);
    return {};
  }

  @All()
  otherMethods(): never {
    throw methodNotAllowed('POST');
  }
}

function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header) : null;
  return match?.[1] ?? null;
}

function parseStatus(req: Request): DeviceStatus {
  if (!req.is('application/json')) throw new OAuthError('invalid_request', 'the callback must be application/json');
  const body: unknown = req.body;
  const status = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['status'] : undefined;
  if (typeof status !== 'string' || !(DEVICE_STATUSES as readonly string[]).includes(status)) {
    throw new OAuthError('invalid_request', `status must be one of ${DEVICE_STATUSES.join(', ')}`);
  }
  return status as DeviceStatus;
}
