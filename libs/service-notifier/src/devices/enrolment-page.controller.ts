import { Controller, Get, Inject, Logger, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '@ciba/platform';
import { sha256Base64url } from '@ciba/tokens';
import { ApprovalPageExceptionFilter, csrfFieldFor, csrfSecret, passesCsrfChecks, sendMessage, sendPage, sendScript } from '../approval-page/approval-page.http.js';
import { PasskeyCeremonies } from '../step-up/passkey-ceremonies.service.js';
import { PASSKEY_REGISTRATION_SCRIPT } from '../step-up/webauthn-assets.js';
import { DeviceEnrolment } from './device-enrolment.service.js';
import { correlationIdOf, formField, headerValue } from './device-http.js';
import { labelFromUserAgent } from './device-label.js';
import { DeviceRegistry } from './device-registry.service.js';
import { parseEnrolmentSubmission } from './device-request.js';
import { ENROL_PAGE_SCRIPT, enrolServiceWorkerScript } from './enrolment-assets.js';
import { enrolmentPageCsp, renderEnrolmentPage } from './enrolment-page.view.js';

export const ENROL_CSRF_COOKIE = 'ciba_enrol_csrf';

const GONE = ['Link no longer valid', 'This link is no longer valid. It was already used or has expired. Ask for a new one if you still want to set up a device.'] as const;
const UNAVAILABLE = ['Device notifications are not available', 'This service does not send sign-in requests to browsers. You will receive them another way.'] as const;
const PASSKEY_SCRIPT_PATH = 'assets/passkey.js';
const PASSKEY_ADDED = 'Done. Your passkey is added: sign-in requests that ask for one can now be approved with it. You can close this page.';
const PASSKEY_REFUSED = 'The passkey could not be added. Open the link again and retry.';

/**
 * The page behind device enrolment links: a browser on the user's phone or computer subscribes to
 * Web Push and registers itself as a device for device push.
 *
 * GET only looks (link scanners and previews must not use the link up); POST (from the page's own
 * script, JSON, CSRF double-submit) uses it and registers the subscription. Answers to the POST are
 * `{message}` for the page to show.
 *
 * The same link can also add one passkey for step-up (`POST /enrol/<token>/passkey`, WebAuthn
 * registration), independently of the device: adding a passkey does not use the link up for
 * notifications, nor the other way round. The page stays available until both are done or it expires.
 */
@Controller('enrol')
@UseFilters(ApprovalPageExceptionFilter)
export class EnrolmentPageController {
  private readonly logger = new Logger(EnrolmentPageController.name);
  private readonly publicOrigin: string;
  private readonly secureCookie: boolean;

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly enrolment: DeviceEnrolment,
    private readonly registry: DeviceRegistry,
    private readonly ceremonies: PasskeyCeremonies,
  ) {
    const url = new URL(config.publicUrls.notifier);
    this.publicOrigin = url.origin;
    this.secureCookie = url.protocol === 'https:';
  }

  // The fixed paths are declared before `:token` so that Express matches them first.
  @Get('assets/enrol.js')
  script(@Res() res: Response): void {
    sendScript(res, ENROL_PAGE_SCRIPT);
  }

  @Get(PASSKEY_SCRIPT_PATH)
  passkeyScript(@Res() res: Response): void {
    sendScript(res, PASSKEY_REGISTRATION_SCRIPT);
  }

  @Get('sw.js')
  serviceWorker(@Res() res: Response): void {
    sendScript(res, enrolServiceWorkerScript(this.publicOrigin));
  }

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const link = await this.enrolment.inspect(token);
    if (link === null) return sendMessage(res, 410, ...GONE);
    const webPushKey = this.registry.webPushKey();
    const applicationServerKey = link.deviceOpen ? webPushKey : null;
    const passkeyOpen = link.passkeyOpen && this.ceremonies.relyingParty !== null;
    if (applicationServerKey === null && !passkeyOpen) return link.deviceOpen ? sendMessage(res, 200, ...UNAVAILABLE) : sendMessage(res, 410, ...GONE);
    const passkeyOptions = passkeyOpen ? await this.ceremonies.registrationOptions(sha256Base64url(token), link.subject) : null;
    const listed = (await this.registry.listActive(link.subject)).map((d) => ({ id: d.id, label: d.label, kind: d.target.kind, createdAt: d.createdAt }));
    // The cookie holds a secret; the page's header value is bound to this link.
    const secret = csrfSecret(req, ENROL_CSRF_COOKIE);
    res.setHeader('Set-Cookie', this.csrfCookie(secret, this.config.notifications.enrolmentLinkTtl));
    const csrfToken = csrfFieldFor(secret, sha256Base64url(token));
    sendPage(
      res,
      200,
      (nonce) =>
        renderEnrolmentPage({
          applicationServerKey,
          csrfToken,
          scriptPath: 'assets/enrol.js',
          nonce,
          ...(passkeyOptions ? { passkey: { options: passkeyOptions, scriptPath: PASSKEY_SCRIPT_PATH } } : {}),
          devices: { listed, removePath: `${token}/remove` },
        }),
      enrolmentPageCsp,
    );
  }

  /** The passkey's registration: the page's script posts `{credential}` (the JSON form of the new PublicKeyCredential). */
  @Post(':token/passkey')
  async addPasskey(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const link = await this.enrolment.inspect(token);
    if (link === null || !link.passkeyOpen) return sendJson(res, 410, GONE[1]);
    if (!passesCsrfChecks(req, ENROL_CSRF_COOKIE, headerValue(req.headers['x-csrf-token']), sha256Base64url(token), this.publicOrigin)) {
      return sendJson(res, 403, 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    if (this.ceremonies.relyingParty === null) return sendJson(res, 404, 'Passkeys are not available on this service.');
    if (!req.is('application/json')) return sendJson(res, 415, 'This browser did not send a passkey.');
    const body: unknown = req.body;
    const credential = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['credential'] : undefined;
    const outcome = await this.ceremonies.register(sha256Base64url(token), link.subject, credential, labelFromUserAgent(req.headers['user-agent']));
    switch (outcome.kind) {
      case 'registered':
        return sendJson(res, 201, PASSKEY_ADDED);
      case 'link_used':
        return sendJson(res, 410, GONE[1]);
      case 'duplicate':
        return sendJson(res, 409, 'This passkey is already registered. You can close this page.');
      case 'rejected':
        this.logger.warn({ reason: outcome.reason }, 'passkey registration refused');
        return sendJson(res, 400, PASSKEY_REFUSED);
    }
  }

  /** The page's Remove buttons (plain forms): ends one of the link's user's devices while the link is open. */
  @Post(':token/remove')
  async removeDevice(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const link = await this.enrolment.inspect(token);
    if (link === null) return sendMessage(res, 410, ...GONE);
    if (!passesCsrfChecks(req, ENROL_CSRF_COOKIE, formField(req, 'csrf'), sha256Base64url(token), this.publicOrigin)) {
      return sendMessage(res, 403, 'Request not accepted', 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    const removed = await this.registry.revoke(link.subject, formField(req, 'device') ?? '', { via: 'enrolment_link' }, correlationIdOf(res));
    if (removed === null) return sendMessage(res, 404, 'No such device', 'This device is not registered for you any more. Open the link again to see your devices.');
    sendMessage(res, 200, 'Device removed', 'The device was removed: it no longer receives your sign-in requests. Open the link again to see your other devices.');
  }

  @Post(':token')
  async submit(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if ((await this.enrolment.peek(token)) === null) return sendJson(res, 410, GONE[1]);
    if (!passesCsrfChecks(req, ENROL_CSRF_COOKIE, headerValue(req.headers['x-csrf-token']), sha256Base64url(token), this.publicOrigin)) {
      return sendJson(res, 403, 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    if (this.registry.webPushKey() === null) return sendJson(res, 404, UNAVAILABLE[1]);
    if (!req.is('application/json')) return sendJson(res, 415, 'This browser did not send a push subscription.');
    const parsed = parseEnrolmentSubmission(req.body);
    if (!parsed.ok || !this.registry.reachable(parsed.value.target)) {
      return sendJson(res, 400, 'This browser sent a push subscription this service cannot use. Try another browser.');
    }

    const subject = await this.enrolment.consume(token);
    if (subject === null) return sendJson(res, 410, GONE[1]);
    const { target, label } = parsed.value;
    await this.registry.register(subject, target, label ?? labelFromUserAgent(req.headers['user-agent']), { via: 'enrolment_link' }, correlationIdOf(res));
    res.setHeader('Set-Cookie', this.csrfCookie('', 0));
    sendJson(res, 201, 'Done. This device will now show your sign-in requests. You can close this page.');
  }

  private csrfCookie(value: string, maxAgeSeconds: number): string {
    return `${ENROL_CSRF_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/enrol; Max-Age=${maxAgeSeconds}${this.secureCookie ? '; Secure' : ''}`;
  }
}

function sendJson(res: Response, status: number, message: string): void {
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.json({ message });
}
