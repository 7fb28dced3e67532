import { Controller, Get, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import type { ClientRepository, Device } from '@ciba/domain';
import { CLIENT_REPOSITORY, PROVIDER_CONFIG } from '@ciba/platform';
import { sha256Base64url } from '@ciba/tokens';
import { ApprovalPageExceptionFilter, csrfFieldFor, csrfSecret, passesCsrfChecks, sendMessage, sendPage } from '../approval-page/approval-page.http.js';
import { correlationIdOf, formField } from './device-http.js';
import { DeviceRegistry } from './device-registry.service.js';
import { renderRemovalPage } from './device-removal-page.view.js';

export const REMOVAL_CSRF_COOKIE = 'ciba_removal_csrf';
/** Long enough to read the page and decide; the link itself lives as long as the registration. */
const CSRF_COOKIE_MAX_AGE = 3600;

const GONE = ['Link no longer valid', 'This link is no longer valid. It was already used, or the device was removed or its registration has ended.'] as const;

/**
 * The page behind the removal link in a new device's announcement ("not you? remove it"). GET only
 * shows which device would go — link scanners and previews must not act — and POST (the page's form,
 * CSRF double-submit cookie and Origin check) uses the link up and ends the registration.
 */
@Controller('enrol/remove')
@UseFilters(ApprovalPageExceptionFilter)
export class DeviceRemovalPageController {
  private readonly publicOrigin: string;
  private readonly secureCookie: boolean;

  constructor(
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    private readonly registry: DeviceRegistry,
  ) {
    const url = new URL(config.publicUrls.notifier);
    this.publicOrigin = url.origin;
    this.secureCookie = url.protocol === 'https:';
  }

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const device = await this.registry.deviceForRemovalLink(token);
    if (device === null) return sendMessage(res, 410, ...GONE);
    // The cookie holds a secret; the form's value is bound to this link.
    const secret = csrfSecret(req, REMOVAL_CSRF_COOKIE);
    res.setHeader('Set-Cookie', this.csrfCookie(secret, CSRF_COOKIE_MAX_AGE));
    const csrfToken = csrfFieldFor(secret, sha256Base64url(token));
    const clientName = await this.clientNameOf(device);
    sendPage(res, 200, (nonce) =>
      renderRemovalPage({ label: device.label, kind: device.target.kind, registeredAt: device.createdAt, clientName, csrfToken, actionPath: token, nonce }),
    );
  }

  @Post(':token')
  async remove(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    if ((await this.registry.deviceForRemovalLink(token)) === null) return sendMessage(res, 410, ...GONE);
    if (!passesCsrfChecks(req, REMOVAL_CSRF_COOKIE, formField(req, 'csrf'), sha256Base64url(token), this.publicOrigin)) {
      return sendMessage(res, 403, 'Request not accepted', 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    const removed = await this.registry.removeWithLink(token, correlationIdOf(res));
    if (removed === null) return sendMessage(res, 410, ...GONE);
    res.setHeader('Set-Cookie', this.csrfCookie('', 0));
    sendMessage(res, 200, 'Device removed', 'The device was removed: it no longer receives your sign-in requests.');
  }

  private async clientNameOf(device: Device): Promise<string | null> {
    if (device.clientId === null) return null;
    const client = await this.clients.findById(device.clientId);
    return client?.clientName || device.clientId;
  }

  private csrfCookie(value: string, maxAgeSeconds: number): string {
    return `${REMOVAL_CSRF_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/enrol/remove; Max-Age=${maxAgeSeconds}${this.secureCookie ? '; Secure' : ''}`;
  }
}
