import { All, Controller, Delete, Get, HttpCode, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Device, DeviceKind } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { NO_STORE_HEADERS, OAuthExceptionFilter, methodNotAllowed } from '@ciba/platform';
import { DeviceEnrolment } from './device-enrolment.service.js';
import { labelFromUserAgent } from './device-label.js';
import { DeviceRegistry } from './device-registry.service.js';
import { parseDeviceRegistration } from './device-request.js';

/** What the API says about a device: never its target (subscription or registration token). */
export interface DeviceView {
  readonly device_id: string;
  readonly kind: DeviceKind;
  readonly label: string | null;
  readonly created_at: string;
  readonly last_used_at?: string | null;
}

const invalidToken = (description: string, withError = true): OAuthError =>
  new OAuthError('invalid_token', description, { headers: { 'WWW-Authenticate': withError ? 'Bearer error="invalid_token"' : 'Bearer' } });

/**
 * Device registration for apps and browsers (FCM registration tokens and Web Push subscriptions
 * alike), JSON in and out, OAuth-style errors:
 *
 * - `POST /ext/ciba/devices`, authenticated by a one-time enrolment token as the bearer token
 *   (used up) or by `id_token_hint` in the body: an unexpired ID token this provider issued.
 * - `GET /ext/ciba/devices` and `DELETE /ext/ciba/devices/{id}`, with an unexpired ID token of ours
 *   as the bearer token: the caller's own devices only.
 */
@Controller('ext/ciba/devices')
@UseFilters(OAuthExceptionFilter)
export class DevicesController {
  constructor(
    private readonly registry: DeviceRegistry,
    private readonly enrolment: DeviceEnrolment,
  ) {}

  @Post()
  @HttpCode(201)
  async register(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<DeviceView> {
    if (!req.is('application/json')) throw new OAuthError('invalid_request', 'the request must be application/json');
    // Shape first: a typo must not use up the caller's one-time enrolment token.
    const parsed = parseDeviceRegistration(req.body);
    if (!parsed.ok) throw new OAuthError('invalid_request', parsed.problem);
    const { target, label, idTokenHint } = parsed.value;
    const credential = presentedCredential(bearerToken(req), idTokenHint);
    if (!this.registry.reachable(target)) throw new OAuthError('invalid_request', this.registry.unreachableBecause(target));

    let subject: string | null;
    if (credential.kind === 'enrolment-token') {
      subject = await this.enrolment.consume(credential.token);
      if (subject === null) throw invalidToken('the enrolment token is unknown, used or expired');
    } else {
      subject = await this.registry.subjectOfIdToken(credential.token);
      if (subject === null) throw new OAuthError('invalid_request', 'id_token_hint is not a valid, unexpired ID token issued by this provider');
    }
    const device = await this.registry.register(subject, target, label ?? labelFromUserAgent(req.headers['user-agent']));
    res.set(NO_STORE_HEADERS);
    return { device_id: device.id, kind: device.target.kind, label: device.label, created_at: device.createdAt.toISOString() };
  }

  @Get()
  async list(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ devices: DeviceView[] }> {
    const subject = await this.caller(req);
    const devices = await this.registry.listActive(subject);
    res.set(NO_STORE_HEADERS);
    return { devices: devices.map(view) };
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const subject = await this.caller(req);
    // Unknown and someone else's look the same: the answer must not confirm another user's device id.
    if (!(await this.registry.revoke(subject, id))) throw new OAuthError('invalid_request', 'no such device', { status: 404 });
    res.set(NO_STORE_HEADERS);
  }

  @All()
  otherMethods(): never {
    throw methodNotAllowed('GET, POST');
  }

  @All(':id')
  otherMethodsOnDevice(): never {
    throw methodNotAllowed('DELETE');
  }

  /** The user an `Authorization: Bearer <ID token>` names. */
  private async caller(req: Request): Promise<string> {
    const bearer = bearerToken(req);
    if (bearer === null) throw invalidToken('an ID token issued by this provider is required as the bearer token', false);
    const subject = await this.registry.subjectOfIdToken(bearer);
    if (subject === null) throw invalidToken('the bearer token is not a valid, unexpired ID token issued by this provider');
    return subject;
  }
}

/** RFC 6750 §2: one way of presenting a credential per request. */
function presentedCredential(bearer: string | null, idTokenHint: string | null): { kind: 'enrolment-token' | 'id-token-hint'; token: string } {
  if (bearer !== null && idTokenHint !== null) throw new OAuthError('invalid_request', 'authenticate with a bearer enrolment token or with id_token_hint, not both');
  if (bearer !== null) return { kind: 'enrolment-token', token: bearer };
  if (idTokenHint !== null) return { kind: 'id-token-hint', token: idTokenHint };
  throw invalidToken('an enrolment token (bearer) or an id_token_hint is required', false);
}

/** RFC 6750 §2.1; null without an Authorization header, invalid_request for any other scheme or shape. */
function bearerToken(req: Request): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(header);
  if (!match) throw new OAuthError('invalid_request', 'the Authorization header must be "Bearer <token>"', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });
  return match[1];
}

function view(device: Device): DeviceView {
  return {
    device_id: device.id,
    kind: device.target.kind,
    label: device.label,
    created_at: device.createdAt.toISOString(),
    last_used_at: device.lastUsedAt?.toISOString() ?? null,
  };
}
