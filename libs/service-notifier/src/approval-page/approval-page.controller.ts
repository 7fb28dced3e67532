import { randomBytes } from 'node:crypto';
import { Controller, Get, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { type ClientRepository, type Clock, secondsUntilExpiry } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { CLIENT_REPOSITORY, CLOCK, PROVIDER_CONFIG } from '@ciba/platform';
import { DeviceDecisionService, type TokenState } from '../device-decision.service.js';
import { APPROVAL_LINK_CHANNEL } from './approval-links.js';
import { ApprovalPageExceptionFilter, CSRF_COOKIE, passesCsrfChecks, readCookie, sendMessage, sendPage } from './approval-page.http.js';
import { renderDecisionPage } from './approval-page.view.js';

/** A decision token is a base64url HMAC-SHA256: 43 characters. Anything else is not worth a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;


const GONE = ['Link no longer valid', 'This link is no longer valid. It was already used, or the request was answered.'] as const;
const EXPIRED = ['Request expired', 'This request has expired. Start the sign-in again if you still need it.'] as const;

/**
 * The approval page behind links in email, SMS and device-push messages. It lives in the notifier
 * because the decision logic (`DeviceDecisionService`), the decision-token store and the device
 * callback already do: one service decides requests, through one code path.
 *
 * GET only looks (link scanners and previews must not burn the link); POST consumes the token.
 */
@Controller('approve')
@UseFilters(ApprovalPageExceptionFilter)
export class ApprovalPageController {
  private readonly publicOrigin: string;
  private readonly secureCookie: boolean;

  constructor(
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
    private readonly decisions: DeviceDecisionService,
  ) {
    const url = new URL(config.publicUrls.notifier);
    this.publicOrigin = url.origin;
    this.secureCookie = url.protocol === 'https:';
  }

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const now = this.clock.now();
    const state = await this.linkState(token, now);
    if (state.kind !== 'usable') return this.sendUnusable(res, state.kind);
    const { request } = state;
    const client = await this.clients.findById(request.clientId);
    const secondsLeft = Math.max(1, secondsUntilExpiry(request, now));
    // Reusing a well-formed cookie keeps two open approval tabs from invalidating each other.
    const existing = readCookie(req.headers.cookie, CSRF_COOKIE);
    const csrfToken = existing && TOKEN_SHAPE.test(existing) ? existing : randomBytes(32).toString('base64url');
    res.setHeader(
      'Set-Cookie',
      `${CSRF_COOKIE}=${csrfToken}; HttpOnly; SameSite=Strict; Path=/approve; Max-Age=${secondsLeft}${this.secureCookie ? '; Secure' : ''}`,
    );
    sendPage(res, 200, (nonce) =>
      renderDecisionPage({
        clientName: client?.clientName || request.clientId,
        bindingMessage: request.bindingMessage,
        scope: request.scope,
        authorizationDetails: request.authorizationDetails,
        expiresAt: request.expiresAt,
        now,
        actionPath: `/approve/${token}`,
        csrfToken,
        nonce,
      }),
    );
  }

  @Post(':token')
  async decide(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const state = await this.linkState(token, this.clock.now());
    if (state.kind !== 'usable') return this.sendUnusable(res, state.kind);
    if (!this.passesCsrfChecks(req)) {
      return sendMessage(res, 403, 'Request not accepted', 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    const decision = formField(req, 'decision');
    if (decision !== 'approve' && decision !== 'deny') {
      return sendMessage(res, 400, 'Bad request', 'Choose Approve or Deny.');
    }
    const client = await this.clients.findById(state.request.clientId);
    const clientName = client?.clientName || state.request.clientId;
    try {
      // The same path as the device callback: atomic single-use consume, pending requests only.
      await this.decisions.apply(state, token, decision === 'approve' ? 'SUCCEED' : 'UNAUTHORIZED');
    } catch (err) {
      if (err instanceof OAuthError && err.error === 'expired_token') return this.sendUnusable(res, 'expired');
      if (err instanceof OAuthError && err.error === 'invalid_token') return this.sendUnusable(res, 'gone');
      throw err;
    }
    res.setHeader('Set-Cookie', `${CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/approve; Max-Age=0${this.secureCookie ? '; Secure' : ''}`);
    if (decision === 'approve') sendMessage(res, 200, 'Approved', `Approved — you can return to ${clientName}.`);
    else sendMessage(res, 200, 'Denied', `Denied — ${clientName} will not be signed in.`);
  }

  private async linkState(token: string, now: Date): Promise<TokenState> {
    if (!TOKEN_SHAPE.test(token)) return { kind: 'gone' };
    // Only approval-link tokens open the page; a device callback token is not a browser link.
    return this.decisions.inspect(token, APPROVAL_LINK_CHANNEL, now);
  }


  private passesCsrfChecks(req: Request): boolean {
    return passesCsrfChecks(req, CSRF_COOKIE, formField(req, 'csrf'), this.publicOrigin);
  }

  private sendUnusable(res: Response, kind: 'gone' | 'expired' | 'settled'): void {
    const [title, message] = kind === 'expired' ? EXPIRED : GONE;
    sendMessage(res, 410, title, message);
  }
}

/** One string value from the urlencoded body; repeated or missing fields are null. */
function formField(req: Request, name: string): string | null {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : null;
}
