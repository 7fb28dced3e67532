import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type Clock,
  type Decision,
  type DecisionTokenRepository,
  type DeferredRequestMarkers,
  type DecisionTokenState,
  type DenialReason,
  type EventPublisher,
  type PendingPollCache,
  type PromptLimitKind,
  type StepUpAuthentication,
  type TokenDecision,
  decisionTokenState,
  settledEvent,
  standingDecision,
  tokenDecisionOf,
} from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import { OAuthError, passkeyStepUpAcr } from '@ciba/protocol';
import {
  AUTH_REQUEST_REPOSITORY,
  CLOCK,
  DECISION_TOKEN_REPOSITORY,
  DEFERRED_REQUEST_MARKERS,
  EVENT_PUBLISHER,
  FlowTracing,
  PENDING_POLL_CACHE,
  PROVIDER_CONFIG,
  ProviderMetrics,
} from '@ciba/platform';
import { DecisionTokens } from './decision-tokens.js';
import { SentDecisionTokens, type SentToken } from './sent-decision-tokens.js';

/** The device's answer in the HTTP authentication channel's vocabulary. */
export const DEVICE_STATUSES = ['SUCCEED', 'UNAUTHORIZED', 'CANCELLED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export type TokenState = DecisionTokenState;

/** HTTP status of `alreadyDecided`: the request's state conflicts with the decision asked for. */
export const DECISION_CONFLICT_STATUS = 409;

const invalidToken = (description: string) =>
  new OAuthError('invalid_token', description, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });

/** A decision arrived for a request that already has another one; nothing was changed. */
const alreadyDecided = (standing: TokenDecision | null) =>
  new OAuthError('invalid_request', `a decision was already recorded for this request${standing ? ` (${standing})` : ''}; this one was not applied`, {
    status: DECISION_CONFLICT_STATUS,
  });

/**
 * Applies an authentication device's decision: single-use token, pending requests only. Using the
 * token and deciding the request are one statement, and the outcome event's publication is
 * confirmed on the request (the sweeper republishes it otherwise), so a crash at any point loses no
 * decision and applies none twice: the device's retry with the same token and decision is answered
 * as the first success was.
 *
 * A device's answer to a token this process sent is that one statement: the request's id, which the
 * poll cache is settled under first, is known from the send (`SentDecisionTokens`); any other
 * answer looks the token up first. The confirmation marker follows behind, batched with others.
 */
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
    @Inject(DEFERRED_REQUEST_MARKERS) private readonly markers: DeferredRequestMarkers,
    private readonly sentTokens: SentDecisionTokens,
    private readonly metrics: ProviderMetrics,
    private readonly tracing: FlowTracing,
  ) {}

  /**
   * What a decision token can still do, without using it (see `DecisionTokenState`); one round trip.
   * A token issued for another channel is `gone`: a token answers only where it was sent.
   */
  async inspect(decisionToken: string, channel: string, now: Date): Promise<TokenState> {
    return decisionTokenState(await this.decisionTokens.findWithRequest(DecisionTokens.hash(decisionToken), channel), now);
  }

  /** Applies the decision (the device callback's path), inspecting the token first unless this process sent it. */
  async decide(decisionToken: string | null, status: DeviceStatus, channel: string): Promise<AuthRequest> {
    if (!decisionToken) throw invalidToken('a bearer decision token is required');
    const now = this.clock.now();
    const sent = this.sentTokens.find(DecisionTokens.hash(decisionToken), now);
    if (sent) return this.applySent(sent, decisionToken, channel, status);
    return this.apply(await this.inspect(decisionToken, channel, now), decisionToken, channel, status);
  }

  /**
   * Applies a decision with a token already inspected. Returns the request once the decision stands:
   * applied now, or applied earlier by this token (a retry: the same decision, whatever denial
   * status, is a success again and republishes the outcome event). Throws when the token is unknown
   * (401), the request expired (400 expired_token), or another decision stands (409).
   * A request that needs a passkey is approved only with the passkey step-up the approval page
   * verified (`stepUp`); any other approval of it is refused before the token is used.
   */
  async apply(state: TokenState, decisionToken: string, channel: string, status: DeviceStatus, stepUp?: StepUpAuthentication): Promise<AuthRequest> {
    const decision: Decision = status === 'SUCCEED' ? { kind: 'approve', ...(stepUp ? { stepUp } : {}) } : { kind: 'deny', reason: status };
    if (state.kind !== 'usable') return this.standing(state, decision);
    const { request } = state;
    if (decision.kind === 'approve' && stepUp === undefined && passkeyStepUpAcr(request.acrValues, this.config.stepUp.passkeyAcrValues) !== null) {
      throw new OAuthError('invalid_request', 'this request needs a passkey step-up: it can only be approved on the approval page');
    }
    return this.settleAndDecide(request, decisionToken, channel, decision);
  }

  /**
   * A token this process sent on the HTTP channel, whose request needs no passkey (see
   * `SentDecisionTokens`): no lookup before the decision. Settling the poll cache for a request that
   * turns out decided or expired already changes nothing: it is not pending.
   */
  private async applySent(sent: SentToken, decisionToken: string, channel: string, status: DeviceStatus): Promise<AuthRequest> {
    const decision: Decision = status === 'SUCCEED' ? { kind: 'approve' } : { kind: 'deny', reason: status };
    return this.settleAndDecide({ id: sent.requestId, expiresAt: sent.expiresAt }, decisionToken, channel, decision);
  }

  private async settleAndDecide(request: Pick<AuthRequest, 'id' | 'expiresAt'>, decisionToken: string, channel: string, decision: Decision): Promise<AuthRequest> {
    const now = this.clock.now();
    const tokenHash = DecisionTokens.hash(decisionToken);
    // Settle the poll cache before the decision commits, so no token replica keeps answering
    // authorization_pending for a decided request. If this fails nothing has changed yet.
    await this.pollCache.settle(request.id, request.expiresAt);
    const result = await this.decisionTokens.decide(tokenHash, channel, decision, now);
    if (!result?.applied) return this.standing(decisionTokenState(result, now), decision);
    this.sentTokens.forget(tokenHash);
    this.metrics.flowDecided(result.request);
    await this.announce(result.request, now);
    this.logger.log({ requestId: result.request.id, decision: result.request.status, ...(result.request.acr ? { acr: result.request.acr } : {}) }, 'authentication device decided');
    return result.request;
  }

  /**
   * Ends a pending request on the provider's side, without the user: a prompt limit (`limit`, which
   * the event carries to the audit trail) was reached, or no channel could reach them. The client
   * gets access_denied (CIBA §11) instead of polling until expiry. Null when the request was no
   * longer pending.
   */
  async refuse(request: AuthRequest, reason: Extract<DenialReason, 'RATE_LIMITED' | 'UNREACHABLE'>, limit?: PromptLimitKind): Promise<AuthRequest | null> {
    await this.pollCache.settle(request.id, request.expiresAt);
    const now = this.clock.now();
    const decided = await this.requests.decide(request.id, { kind: 'deny', reason, ...(limit ? { limit } : {}) }, now);
    if (!decided) return null;
    this.metrics.flowDecided(decided);
    await this.announce(decided, now);
    this.logger.warn({ requestId: decided.id, reason, ...(limit ? { limit } : {}) }, 'request refused without the user');
    return decided;
  }

  /** The answer when this call did not apply the decision: what stands instead. */
  private async standing(state: TokenState, decision: Decision): Promise<AuthRequest> {
    switch (state.kind) {
      case 'gone':
        throw invalidToken('the decision token is unknown');
      case 'expired':
        throw new OAuthError('expired_token', 'the authentication request has expired');
      case 'settled':
        throw alreadyDecided(standingDecision(state.request));
      case 'usable':
        // Only after a decide that did not apply, and then the token cannot still be usable.
        throw new Error('the decision was neither applied nor refused');
      case 'used':
        break;
    }
    if (state.decision !== tokenDecisionOf(decision)) throw alreadyDecided(state.decision);
    // A retry after a crash may find the event never published: publish it (again: same event id),
    // and confirm it before answering, as the retry is what recovers it.
    await this.announce(state.request, this.clock.now(), 'now');
    this.logger.log({ requestId: state.request.id, decision: state.decision }, 'decision retried: it already stands');
    return state.request;
  }

  /**
   * Publishes the outcome event, then confirms it on the request: behind the caller, batched with
   * other requests' markers, unless `confirm` is 'now'. A crash or bus failure in between leaves the
   * request unconfirmed, and the sweeper republishes it.
   *
   * In the flow's trace: the device's callback is a request of its own (its span is linked), and the
   * outcome it publishes reaches the callback dispatcher within the flow.
   */
  private async announce(request: AuthRequest, now: Date, confirm: 'deferred' | 'now' = 'deferred'): Promise<void> {
    const event = settledEvent(request);
    if (!event) return;
    const attributes = { 'ciba.request_id': request.id, 'ciba.client_id': request.clientId, 'ciba.decision': request.status };
    await this.tracing.inFlow('ciba.decision', request.traceContext, attributes, async () => {
      await this.events.publish(event);
      if (confirm === 'now') await this.requests.markOutcomePublished([request.id], now);
      else this.markers.outcomePublished(request.id, now);
    });
  }
}
