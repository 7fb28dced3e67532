import { Controller, Get, Inject, Logger, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ProviderConfig } from '@ciba/config';
import { type AuthRequest, type ClientRepository, type Clock, type StepUpAuthentication, secondsUntilExpiry } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { CLIENT_REPOSITORY, CLOCK, PROVIDER_CONFIG } from '@ciba/platform';
import { DecisionTokens } from '../decision-tokens.js';
import { DECISION_CONFLICT_STATUS, DeviceDecisionService, type TokenState } from '../device-decision.service.js';
import { PasskeyCeremonies } from '../step-up/passkey-ceremonies.service.js';
import { STEP_UP_SCRIPT } from '../step-up/webauthn-assets.js';
import { APPROVAL_LINK_CHANNEL } from './approval-links.js';
import { ApprovalPageExceptionFilter, CSRF_COOKIE, csrfFieldFor, csrfSecret, passesCsrfChecks, sendMessage, sendPage, sendScript } from './approval-page.http.js';
import { type StepUpModel, approvalPageCsp, renderDecisionPage, stepUpPageCsp } from './approval-page.view.js';

/** A decision token is a base64url HMAC-SHA256: 43 characters. Anything else is not worth a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** Where the step-up page's script is served, relative to `/approve/<token>`. */
const STEP_UP_SCRIPT_PATH = 'assets/step-up.js';

const GONE = ['Link no longer valid', 'This link is no longer valid. It was already used, or the request was answered.'] as const;
const EXPIRED = ['Request expired', 'This request has expired. Start the sign-in again if you still need it.'] as const;
const PASSKEY_NEEDED = ['Passkey needed', 'This request can only be approved with your passkey, and it was not confirmed. Open the link again to retry, or deny the request.'] as const;

/**
 * The approval page behind links in email, SMS and device-push messages. It lives in the notifier
 * because the decision logic (`DeviceDecisionService`), the decision-token store and the device
 * callback already do: one service decides requests, through one code path.
 *
 * GET only looks (link scanners and previews must not burn the link); POST consumes the token.
 *
 * A request whose acr values ask for a passkey-level ACR (`CIBA_PASSKEY_ACR_VALUES`) is approved
 * only with a passkey: GET then issues WebAuthn options bound to the link and adds the ceremony's
 * script, and an Approve POST must carry an assertion that verifies, or it is refused (403) without
 * using the link. Deny never needs a passkey.
 */
@Controller('approve')
@UseFilters(ApprovalPageExceptionFilter)
export class ApprovalPageController {
  private readonly logger = new Logger(ApprovalPageController.name);
  private readonly publicOrigin: string;
  private readonly secureCookie: boolean;

  constructor(
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
    private readonly decisions: DeviceDecisionService,
    private readonly ceremonies: PasskeyCeremonies,
  ) {
    const url = new URL(config.publicUrls.notifier);
    this.publicOrigin = url.origin;
    this.secureCookie = url.protocol === 'https:';
  }

  // Declared before `:token` (which never matches a path with a slash anyway).
  @Get(STEP_UP_SCRIPT_PATH)
  script(@Res() res: Response): void {
    sendScript(res, STEP_UP_SCRIPT);
  }

  @Get(':token')
  async show(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const now = this.clock.now();
    const state = await this.linkState(token, now);
    if (state.kind !== 'usable') return this.sendUnusable(res, state.kind);
    const { request } = state;
    const client = await this.clients.findById(request.clientId);
    const secondsLeft = Math.max(1, secondsUntilExpiry(request, now));
    // The cookie holds a secret; the form field is bound to this link, so it never approves another.
    const secret = csrfSecret(req, CSRF_COOKIE);
    res.setHeader(
      'Set-Cookie',
      `${CSRF_COOKIE}=${secret}; HttpOnly; SameSite=Strict; Path=/approve; Max-Age=${secondsLeft}${this.secureCookie ? '; Secure' : ''}`,
    );
    const csrfToken = csrfFieldFor(secret, DecisionTokens.hash(token));
    const stepUp = await this.stepUpModel(token, request);
    sendPage(
      res,
      200,
      (nonce) =>
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
          ...(stepUp ? { stepUp } : {}),
        }),
      stepUp?.kind === 'ceremony' ? stepUpPageCsp : approvalPageCsp,
    );
  }

  /**
   * A POST with a link that already recorded a decision is a retry (the answer was lost to a crash,
   * or the user resubmitted): the same decision gets the same result page and changes nothing, so it
   * needs neither the CSRF checks nor the passkey again; a different one is told the link is used.
   */
  @Post(':token')
  async decide(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const state = await this.linkState(token, this.clock.now());
    if (state.kind !== 'usable' && state.kind !== 'used') return this.sendUnusable(res, state.kind);
    if (state.kind === 'usable' && !passesCsrfChecks(req, CSRF_COOKIE, formField(req, 'csrf'), DecisionTokens.hash(token), this.publicOrigin)) {
      return sendMessage(res, 403, 'Request not accepted', 'This page could not confirm the request came from you. Open the link again and retry.');
    }
    const decision = formField(req, 'decision');
    if (decision !== 'approve' && decision !== 'deny') {
      return sendMessage(res, 400, 'Bad request', 'Choose Approve or Deny.');
    }
    const client = await this.clients.findById(state.request.clientId);
    const clientName = client?.clientName || state.request.clientId;
    let stepUp: StepUpAuthentication | undefined;
    if (state.kind === 'usable' && decision === 'approve' && this.ceremonies.stepUpAcr(state.request) !== null) {
      const verified = await this.ceremonies.verifyStepUp(DecisionTokens.hash(token), state.request, parseAssertion(formField(req, 'assertion')));
      if (verified.kind === 'rejected') {
        this.logger.warn({ requestId: state.request.id, reason: verified.reason }, 'approval refused: passkey step-up not verified');
        return sendMessage(res, 403, ...PASSKEY_NEEDED);
      }
      stepUp = verified.stepUp;
    }
    try {
      // The same path as the device callback: the token is used and the request decided atomically.
      await this.decisions.apply(state, token, APPROVAL_LINK_CHANNEL, decision === 'approve' ? 'SUCCEED' : 'UNAUTHORIZED', stepUp);
    } catch (err) {
      if (err instanceof OAuthError && err.error === 'expired_token') return this.sendUnusable(res, 'expired');
      if (err instanceof OAuthError && (err.error === 'invalid_token' || err.status === DECISION_CONFLICT_STATUS)) return this.sendUnusable(res, 'gone');
      throw err;
    }
    res.setHeader('Set-Cookie', `${CSRF_COOKIE}=; HttpOnly; SameSite=Strict; Path=/approve; Max-Age=0${this.secureCookie ? '; Secure' : ''}`);
    if (decision === 'approve') sendMessage(res, 200, 'Approved', `Approved — you can return to ${clientName}.`);
    else sendMessage(res, 200, 'Denied', `Denied — ${clientName} will not be signed in.`);
  }

  /** Undefined for a request that needs no passkey; else the ceremony's options, or no-passkey. */
  private async stepUpModel(token: string, request: AuthRequest): Promise<StepUpModel | undefined> {
    if (this.ceremonies.stepUpAcr(request) === null) return undefined;
    const options = await this.ceremonies.authenticationOptions(DecisionTokens.hash(token), request);
    return options === null ? { kind: 'no-passkey' } : { kind: 'ceremony', options, scriptPath: STEP_UP_SCRIPT_PATH };
  }

  private async linkState(token: string, now: Date): Promise<TokenState> {
    if (!TOKEN_SHAPE.test(token)) return { kind: 'gone' };
    // Only approval-link tokens open the page; a device callback token is not a browser link.
    return this.decisions.inspect(token, APPROVAL_LINK_CHANNEL, now);
  }


  /** A used link shows as no longer valid when only opened: whether it approved or denied is not shown. */
  private sendUnusable(res: Response, kind: Exclude<TokenState['kind'], 'usable'>): void {
    const [title, message] = kind === 'expired' ? EXPIRED : GONE;
    sendMessage(res, 410, title, message);
  }
}

/** The `assertion` field: the JSON the step-up script put there; anything else is null. */
function parseAssertion(field: string | null): unknown {
  if (field === null || field === '') return null;
  try {
    return JSON.parse(field) as unknown;
  } catch {
    return null;
  }
}

/** One string value from the urlencoded body; repeated or missing fields are null. */
function formField(req: Request, name: string): string | null {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return null;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : null;
}
