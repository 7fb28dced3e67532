import { randomBytes } from 'node:crypto';
import { Controller, Get, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '@ciba/platform';
import { ApprovalPageExceptionFilter, passesCsrfChecks, readCookie, sendMessage, sendPage } from '../approval-page/approval-page.http.js';
import { DeviceEnrolment } from './device-enrolment.service.js';
import { labelFromUserAgent } from './device-label.js';
import { DeviceRegistry } from './device-registry.service.js';
import { parseEnrolmentSubmission } from './device-request.js';
import { ENROL_PAGE_SCRIPT, enrolServiceWorkerScript } from './enrolment-assets.js';
import { enrolmentPageCsp, renderEnrolmentPage } from './enrolment-page.view.js';

export const ENROL_CSRF_COOKIE = 'ciba_enrol_csrf';
const CSRF_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const GONE = ['Link no longer valid', 'This link is no longer valid. It was already used or has expired. Ask for a new one if you still want to set up a device.'] as const;
const UNAVAILABLE = ['Device notifications are not available', 'This service does not send sign-in requests to browsers. You will receive them another way.'] as const;

/**
 * The page behind device enrolment links: a browser on the user's phone or computer subscribes to
 * Web Push and registers itself as a device for device push.
 *
 * GET only looks (link scanners and previews must not use the link up); POST (from the page's own
 * script, JSON, CSRF double-submit) uses it and registers the subscription. Answers to the POST are
 * `{message}` for the page to show.
 */
@Controller('enrol')
@UseFilters(ApprovalPageExceptionFilter)
export class EnrolmentPageController {
  private readonly publicOrigin: string;
  private readonly secureCookie: boolean;

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly enrolment: DeviceEnrolment,
    private readonly registry: DeviceRegistry,
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

  @Get('sw.js')
  serviceWorker(@Res() res: Response): void {
    sendScript(res, enrolServiceWorkerScript(this.publicOrigin));
  }

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if ((await this.enrolment.peek(token)) === null) return sendMessage(res, 410, ...GONE);
    const applicationServerKey = this.registry.webPushKey();
    if (applicationServerKey === null) return sendMessage(res, 200, ...UNAVAILABLE);
    // Reusing a well-formed cookie keeps two open tabs from invalidating each other.
    const existing = readCookie(req.headers.cookie, ENROL_CSRF_COOKIE);
    const csrfToken = existing && CSRF_SHAPE.test(existing) ? existing : randomBytes(32).toString('base64url');
    res.setHeader('Set-Cookie', this.csrfCookie(csrfToken, this.config.notifications.enrolmentLinkTtl));
    sendPage(res, 200, (nonce) => renderEnrolmentPage({ applicationServerKey, csrfToken, scriptPath: 'assets/enrol.js', nonce }), enrolmentPageCsp);
  }

  @Post(':token')
  async submit(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if ((await this.enrolment.peek(token)) === null) return sendJson(res, 410, GONE[1]);
    if (!passesCsrfChecks(req, ENROL_CSRF_COOKIE, headerValue(req.headers['x-csrf-token']), this.publicOrigin)) {
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
    await this.registry.register(subject, target, label ?? labelFromUserAgent(req.headers['user-agent']));
    res.setHeader('Set-Cookie', this.csrfCookie('', 0));
    sendJson(res, 201, 'Done. This device will now show your sign-in requests. You can close this page.');
  }

  private csrfCookie(value: string, maxAgeSeconds: number): string {
    return `${ENROL_CSRF_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/enrol; Max-Age=${maxAgeSeconds}${this.secureCookie ? '; Secure' : ''}`;
  }
}

function sendScript(res: Response, source: string): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
  // Revalidate every time: a stale service worker would keep old click rules.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // The service worker's own policy: it loads and fetches nothing.
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.send(source);
}

function sendJson(res: Response, status: number, message: string): void {
  res.status(status);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.json({ message });
}

function headerValue(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
