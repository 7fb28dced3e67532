import { All, Controller, Delete, Get, HttpCode, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AuthenticatedClient, Device, DeviceKind, DeviceRegistrar, DeviceRevoker } from '@ciba/domain';
import { OAuthError, invalidClient } from '@ciba/protocol';
import { ClientAuthenticator, NO_STORE_HEADERS, OAuthExceptionFilter, methodNotAllowed } from '@ciba/platform';
import { DeviceEnrolment } from './device-enrolment.service.js';
import { correlationIdOf, headerValue } from './device-http.js';
import { labelFromUserAgent } from './device-label.js';
import { DeviceRegistry, type ProvenUser } from './device-registry.service.js';
import { parseDeviceRegistration } from './device-request.js';

/** What the API says about a device: never its target (subscription or registration token). */
export interface DeviceView {
  readonly device_id: string;
  readonly kind: DeviceKind;
  readonly label: string | null;
  readonly created_at: string;
  readonly expires_at: string;
  readonly last_used_at?: string | null;
}

/** Where GET and DELETE (no body) carry the user's ID token; POST may use it too, or `id_token_hint` in the body. */
export const ID_TOKEN_HINT_HEADER = 'id-token-hint';

/** Who is asking, and for which of the user's devices. */
type Caller =
  | { readonly kind: 'enrolment-link'; readonly subject: string }
  | { readonly kind: 'client'; readonly subject: string; readonly client: AuthenticatedClient };

const invalidToken = (description: string): OAuthError =>
  new OAuthError('invalid_token', description, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });

const noClient = (): OAuthError =>
  invalidClient('authenticate the client with HTTP Basic and present the user\'s ID token, or present the user\'s enrolment token as a bearer token', 'Basic');

const ID_TOKEN_REFUSALS: Readonly<Record<Exclude<ProvenUser, { ok: true }>['refusal'], string>> = {
  invalid: 'id_token_hint is not a valid, unexpired ID token issued by this provider',
  unknown_user: 'id_token_hint is not a valid, unexpired ID token issued by this provider',
  other_client: 'id_token_hint was not issued to this client',
  stale: 'id_token_hint attests an authentication that is too old: authenticate the user again',
};

/**
 * Device registration for apps and browsers (FCM registration tokens and Web Push subscriptions
 * alike), JSON in and out, OAuth-style errors. Every call needs proof from the user, in one of two
 * forms:
 *
 * - the user's one-time enrolment token (`Authorization: Bearer`), sent to their verified email or
 *   phone: POST registers one device and uses it up; GET and DELETE see all the user's devices while
 *   the link is open;
 * - an authenticated client (HTTP Basic) with the user's ID token issued to that client for a fresh
 *   authentication (`id_token_hint` in the POST body, or the `ID-Token-Hint` header): the client sees
 *   and removes only the devices it registered.
 *
 * An ID token alone proves nothing: without client authentication the answer is `401 invalid_client`.
 */
@Controller('ext/ciba/devices')
@UseFilters(OAuthExceptionFilter)
export class DevicesController {
  constructor(
    private readonly registry: DeviceRegistry,
    private readonly enrolment: DeviceEnrolment,
    private readonly clients: ClientAuthenticator,
  ) {}

  @Post()
  @HttpCode(201)
  async register(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<DeviceView> {
    const credential = presentedCredential(req);
    // RFC 6749 §2.3: the client is authenticated before anything else is looked at.
    const client = credential.kind === 'basic' ? await this.clients.authenticateBasic(req) : null;
    if (!req.is('application/json')) throw new OAuthError('invalid_request', 'the request must be application/json');
    // Shape first: a typo must not use up the caller's one-time enrolment token.
    const parsed = parseDeviceRegistration(req.body);
    if (!parsed.ok) throw new OAuthError('invalid_request', parsed.problem);
    const { target, label, idTokenHint } = parsed.value;
    const headerHint = headerValue(req.headers[ID_TOKEN_HINT_HEADER]);
    if (idTokenHint !== null && headerHint !== null) throw new OAuthError('invalid_request', 'send the ID token once: id_token_hint or the ID-Token-Hint header');
    if (credential.kind === 'bearer' && (idTokenHint ?? headerHint) !== null) {
      throw new OAuthError('invalid_request', 'authenticate with a bearer enrolment token or with client authentication and id_token_hint, not both');
    }
    const subject = client ? await this.userProvenTo(client, idTokenHint ?? headerHint) : null;
    if (!this.registry.reachable(target)) throw new OAuthError('invalid_request', this.registry.unreachableBecause(target));

    const registrar: DeviceRegistrar = client ? { via: 'client', clientId: client.clientId } : { via: 'enrolment_link' };
    const owner = subject ?? (await this.useEnrolmentToken(credential));
    const device = await this.registry.register(owner, target, label ?? labelFromUserAgent(req.headers['user-agent']), registrar, correlationIdOf(res));
    res.set(NO_STORE_HEADERS);
    return { device_id: device.id, kind: device.target.kind, label: device.label, created_at: device.createdAt.toISOString(), expires_at: device.expiresAt.toISOString() };
  }

  @Get()
  async list(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<{ devices: DeviceView[] }> {
    const caller = await this.caller(req);
    const devices = await this.registry.listActive(caller.subject, caller.kind === 'client' ? caller.client.clientId : undefined);
    res.set(NO_STORE_HEADERS);
    return { devices: devices.map(view) };
  }

  @Delete(':id')
  @HttpCode(204)
  async revoke(@Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const caller = await this.caller(req);
    const by: DeviceRevoker = caller.kind === 'client' ? { via: 'client', clientId: caller.client.clientId } : { via: 'enrolment_link' };
    // Unknown, someone else's and another client's look the same: the answer must not confirm a device id.
    if (!(await this.registry.revoke(caller.subject, id, by, correlationIdOf(res)))) throw new OAuthError('invalid_request', 'no such device', { status: 404 });
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

  /** GET and DELETE: an open enrolment link (bearer), or an authenticated client with the user's ID token in `ID-Token-Hint`. */
  private async caller(req: Request): Promise<Caller> {
    const credential = presentedCredential(req);
    if (credential.kind === 'bearer') {
      if (req.headers[ID_TOKEN_HINT_HEADER] !== undefined) throw new OAuthError('invalid_request', 'authenticate with a bearer enrolment token or with client authentication and an ID token, not both');
      const link = await this.enrolment.inspect(credential.token);
      if (link === null) throw invalidToken('the enrolment token is unknown, used or expired');
      return { kind: 'enrolment-link', subject: link.subject };
    }
    const client = await this.clients.authenticateBasic(req);
    const subject = await this.userProvenTo(client, headerValue(req.headers[ID_TOKEN_HINT_HEADER]));
    return { kind: 'client', subject, client };
  }

  /** Uses the enrolment token up: the user it enrols for, for exactly one caller. */
  private async useEnrolmentToken(credential: Credential): Promise<string> {
    const subject = credential.kind === 'bearer' ? await this.enrolment.consume(credential.token) : null;
    if (subject === null) throw invalidToken('the enrolment token is unknown, used or expired');
    return subject;
  }

  /** The user whose fresh ID token, issued to this very client, came with the request. */
  private async userProvenTo(client: AuthenticatedClient, idToken: string | null): Promise<string> {
    if (idToken === null || idToken === '') throw new OAuthError('invalid_request', "the user's ID token is required: id_token_hint (POST body) or the ID-Token-Hint header");
    const proven = await this.registry.proveUser(client, idToken);
    if (!proven.ok) throw new OAuthError('invalid_request', ID_TOKEN_REFUSALS[proven.refusal]);
    return proven.subject;
  }
}

type Credential = { readonly kind: 'bearer'; readonly token: string } | { readonly kind: 'basic' };

/**
 * RFC 6750 §2.1 bearer (an enrolment token) or anything else in `Authorization`, which client
 * authentication then judges (HTTP Basic only). No `Authorization` at all is no client: 401 invalid_client.
 */
function presentedCredential(req: Request): Credential {
  const header = req.headers.authorization;
  if (header === undefined || header === '') throw noClient();
  if (!/^Bearer /i.test(header)) return { kind: 'basic' };
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  if (!match) throw new OAuthError('invalid_request', 'the Authorization header must be "Bearer <token>"', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } });
  return { kind: 'bearer', token: match[1] };
}

function view(device: Device): DeviceView {
  return {
    device_id: device.id,
    kind: device.target.kind,
    label: device.label,
    created_at: device.createdAt.toISOString(),
    expires_at: device.expiresAt.toISOString(),
    last_used_at: device.lastUsedAt?.toISOString() ?? null,
  };
}
