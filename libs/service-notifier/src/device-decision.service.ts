import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type Clock,
  type Decision,
  type DenialReason,
  type DecisionTokenRepository,
  type EventPublisher,
  type PendingPollCache,
  type PromptLimitKind,
  type StepUpAuthentication,
  effectiveStatus,
  requestDecided,
} from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import { OAuthError, passkeyStepUpAcr } from '@ciba/protocol';
import { AUTH_REQUEST_REPOSITORY, CLOCK, DECISION_TOKEN_REPOSITORY, EVENT_PUBLISHER, PENDING_POLL_CACHE, PROVIDER_CONFIG } from '@ciba/platform';
import { DecisionTokens } from './decision-tokens.js';

/** The device's answer in the HTTP authentication channel's vocabulary. */
export const DEVICE_STATUSES = ['SUCCEED', 'UNAUTHORIZED', 'CANCELLED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type TokenState =
  | { readonly kind: 'usable'; readonly request: AuthRequest }
  | { readonly kind: 'gone' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'settled' };

const notPending = () => new OAuthError('expired_token', 'the authentication request is no longer pending');

const invalidToken = (description: string) =>
  new OAuthError('invalid_token', description, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });

/** Applies an authentication device's decision: single-use token, pending requests only. */
@Injectable()
export class DeviceDecisionService {
  private readonly logger = new Logger(DeviceDecisionService.name);

  constructor(
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(DECISION_TOKEN_REPOSITORY) private readonly decisionTokens: DecisionTokenRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PENDING_POLL_CACHE) private readonly pollCache: PendingPollCache,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  /**
   * What a decision token can still do, without using it: `gone` when unknown, used or issued for
   * another channel (a token answers only where it was sent); `expired`; `settled` when its request
   * is no longer pending; else `usable` with the request. The approval page shows a link this way.
   */
  async inspect(decisionToken: string, channel: string, now: Date): Promise<TokenState> {
    const known = await this.decisionTokens.find(DecisionTokens.hash(decisionToken));
    if (!known || known.usedAt !== null || known.channel !== channel) return { kind: 'gone' };
    if (known.expiresAt.getTime() <= now.getTime()) return { kind: 'expired' };
    const request = await this.requests.findById(known.requestId);
    if (!request) return { kind: 'settled' };
    const status = effectiveStatus(request, now);
    if (status === 'expired') return { kind: 'expired' };
    return status === 'pending' ? { kind: 'usable', request } : { kind: 'settled' };
  }

  /** Inspects the token, then applies the decision (the device callback's path). */
  async decide(decisionToken: string | null, status: DeviceStatus, channel: string): Promise<AuthRequest> {
    if (!decisionToken) throw invalidToken('a bearer decision token is required');
    return this.apply(await this.inspect(decisionToken, channel, this.clock.now()), decisionToken, status);
  }

  /**
   * Applies a decision with a token already inspected: single-use consume, pending requests only.
   * A request that needs a passkey is approved only with the passkey step-up the approval page
   * verified (`stepUp`); any other approval of it is refused before the token is used.
   */
  async apply(state: TokenState, decisionToken: string, status: DeviceStatus, stepUp?: StepUpAuthentication): Promise<AuthRequest> {
    switch (state.kind) {
      case 'gone':
        throw invalidToken('the decision token is unknown or was already used');
      case 'expired':
        throw new OAuthError('expired_token', 'the authentication request has expired');
      case 'settled':
        throw notPending();
      case 'usable':
        break;
    }
    const { request } = state;
    if (status === 'SUCCEED' && stepUp === undefined && passkeyStepUpAcr(request.acrValues, this.config.stepUp.passkeyAcrValues) !== null) {
      throw new OAuthError('invalid_request', 'this request needs a passkey step-up: it can only be approved on the approval page');
    }
    const now = this.clock.now();
    // Settle the poll cache before the decision commits, so no token replica keeps answering
    // authorization_pending for a decided request. If this fails nothing has changed yet.
    await this.pollCache.settle(request.authReqId, request.expiresAt);
    const consumed = await this.decisionTokens.consume(DecisionTokens.hash(decisionToken), now);
    if (!consumed) throw invalidToken('the decision token is unknown or was already used');

    const decision: Decision = status === 'SUCCEED' ? { kind: 'approve', ...(stepUp ? { stepUp } : {}) } : { kind: 'deny', reason: status };
    const decided = await this.commit(request, decision, now);
    if (!decided) throw notPending();
    this.logger.log({ requestId: decided.id, decision: decided.status, ...(decided.acr ? { acr: decided.acr } : {}) }, 'authentication device decided');
    return decided;
  }

  /**
   * Ends a pending request on the provider's side, without the user: a prompt limit (`limit`, which
   * the event carries to the audit trail) was reached, or no channel could reach them. The client
   * gets access_denied (CIBA §11) instead of polling until expiry. Null when the request was no
   * longer pending.
   */
  async refuse(request: AuthRequest, reason: Extract<DenialReason, 'RATE_LIMITED' | 'UNREACHABLE'>, limit?: PromptLimitKind): Promise<AuthRequest | null> {
    await this.pollCache.settle(request.authReqId, request.expiresAt);
    const decided = await this.commit(request, { kind: 'deny', reason }, this.clock.now(), limit);
    if (decided) this.logger.warn({ requestId: decided.id, reason, ...(limit ? { limit } : {}) }, 'request refused without the user');
    return decided;
  }

  private async commit(request: AuthRequest, decision: Decision, now: Date, limit?: PromptLimitKind): Promise<AuthRequest | null> {
    const decided = await this.requests.decide(request.id, decision, now);
    if (decided) await this.events.publish(requestDecided(decided, limit));
    return decided;
  }
}
