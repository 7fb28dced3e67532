import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ApprovalNotification, SendOutcome } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import {
  type AuthRequest,
  type ClientRepository,
  type Clock,
  type DeferredRequestMarkers,
  type EventPublisher,
  type NotificationChannel,
  type PromptClaims,
  type User,
  channelPlan,
  deviceNotificationFailed,
  deviceNotified,
} from '@ciba/domain';
import { passkeyStepUpAcr } from '@ciba/protocol';
import { PermanentError, RetryableError } from '@ciba/messaging';
import { CLIENT_REPOSITORY, CLOCK, DEFERRED_REQUEST_MARKERS, EVENT_PUBLISHER, PROMPT_CLAIMS, PROVIDER_CONFIG, ProviderMetrics } from '@ciba/platform';
import { ApprovalLinks } from '../approval-page/approval-links.js';
import { DeviceDecisionService } from '../device-decision.service.js';
import { ChannelDelivery, combineOutcomes } from './channel-delivery.js';

export { AUTHENTICATION_CHANNEL, combineOutcomes } from './channel-delivery.js';

type Attempt = { readonly channel: NotificationChannel; readonly outcome: Exclude<SendOutcome, { kind: 'sent' }> };

/**
 * Takes each new request off the bus and reaches the user: the user's ordered channel preference
 * (or the deployment's), skipping channels that are off or that the user cannot be reached on, and
 * falling back to the next channel when one fails. The first channel that delivers ends the work
 * (ack). If none delivered but one may later, the message is redelivered after a delay, starting
 * again from the preferred channel; if every channel failed for good, the request is ended
 * (`access_denied` to the client, reason UNREACHABLE) and the message goes to the dead letters.
 *
 * One database statement starts it (`PromptClaims.claim`: the request with its user, the prompt
 * limits, the decision tokens); the `notified` marker follows behind, batched with others.
 *
 * Idempotent: a redelivered event for a request already notified, decided or expired is acknowledged
 * without contacting the user again, and the approval link is derived, so a resend carries the same.
 */
@Injectable()
export class UserNotifier {
  private readonly logger = new Logger(UserNotifier.name);

  constructor(
    @Inject(PROMPT_CLAIMS) private readonly claims: PromptClaims,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(DEFERRED_REQUEST_MARKERS) private readonly markers: DeferredRequestMarkers,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly delivery: ChannelDelivery,
    private readonly links: ApprovalLinks,
    private readonly decisions: DeviceDecisionService,
    private readonly metrics: ProviderMetrics,
  ) {}

  /** `attempt`: which delivery of the request's message this is (1 the first), for the audit trail. */
  async notify(requestId: string, attempt = 1): Promise<void> {
    const now = this.clock.now();
    const limits = this.config.notifications.promptLimits;
    // Every limit is the asking client's own: one client reaching a limit never blocks another's request.
    const claim = await this.claims.claim(requestId, now, limits, this.delivery.claimTokens(requestId));
    if (claim.kind === 'unclaimable') return;
    const { request, user, verdict } = claim;

    const plan = user ? this.planFor(request, user) : [];
    if (!user || plan.length === 0) {
      // A request taken to no one uses no budget.
      if (claim.countedNow) await this.claims.release(request, now, limits);
      await this.publishFailure(request, attempt, [], true);
      await this.decisions.refuse(request, 'UNREACHABLE');
      throw new PermanentError('no enabled channel reaches the user');
    }
    if (!verdict.allowed) {
      this.logger.warn({ requestId: request.id, clientId: request.clientId, limit: verdict.limit }, 'prompt limit reached; request refused without notifying');
      await this.decisions.refuse(request, 'RATE_LIMITED', verdict.limit);
      return;
    }

    const attempts: Attempt[] = [];
    let notification: Promise<ApprovalNotification> | null = null;
    const approvalNotification = () => (notification ??= this.approvalNotification(request, user));
    for (const channel of plan) {
      const outcome = await this.sendMeasured(channel, request, user, approvalNotification);
      if (outcome.kind === 'sent') {
        const notifiedAt = this.clock.now();
        this.markers.notified(request.id, notifiedAt);
        await this.events.publish(deviceNotified(request, channel, notifiedAt, attempts.map((a) => ({ channel: a.channel, outcome: a.outcome.kind }))));
        this.logger.log({ requestId: request.id, channel, fallbacks: attempts.length }, 'user notified');
        return;
      }
      this.logger.warn({ requestId: request.id, channel, outcome: outcome.kind, reason: outcome.reason }, 'channel did not deliver');
      attempts.push({ channel, outcome });
    }

    const summary = attempts.map((a) => `${a.channel}: ${a.outcome.reason}`).join(', ');
    // Channels fail together as devices do: retryable if any may deliver later, after the shortest wait asked for.
    const overall = combineOutcomes(attempts.map((a) => a.outcome));
    const tried = attempts.map((a) => ({ channel: a.channel, outcome: a.outcome.kind }));
    await this.publishFailure(request, attempt, tried, overall.kind !== 'retryable');
    if (overall.kind === 'retryable') throw new RetryableError(`no channel delivered yet (${summary})`, overall.retryAfterMs ?? undefined);
    await this.decisions.refuse(request, 'UNREACHABLE');
    throw new PermanentError(`every channel failed (${summary})`);
  }

  /** The audit's record of an attempt that reached the user on no channel; losing it must not stop the retry or the refusal. */
  private async publishFailure(request: AuthRequest, attempt: number, tried: readonly { channel: string; outcome: string }[], final: boolean): Promise<void> {
    await this.events
      .publish(deviceNotificationFailed(request, attempt, tried, final, this.clock.now()))
      .catch((err: unknown) => this.logger.warn({ err, requestId: request.id }, 'could not publish auth_request.device_notification_failed'));
  }

  /** One send on `channel`, counted and timed by outcome (`error`: the send threw). */
  private async sendMeasured(channel: NotificationChannel, request: AuthRequest, user: User, notification: () => Promise<ApprovalNotification>): Promise<SendOutcome> {
    const started = performance.now();
    try {
      const outcome = await this.delivery.send(channel, request, user, notification);
      this.metrics.channelSend(channel, outcome.kind, (performance.now() - started) / 1000);
      return outcome;
    } catch (error) {
      this.metrics.channelSend(channel, 'error', (performance.now() - started) / 1000);
      throw error;
    }
  }

  /**
   * A request that needs a passkey is answered on the approval page only: the HTTP authentication
   * channel's device decides on its own and cannot show the passkey ceremony, so it is left out.
   */
  private planFor(request: AuthRequest, user: User): NotificationChannel[] {
    const needsPasskey = passkeyStepUpAcr(request.acrValues, this.config.stepUp.passkeyAcrValues) !== null;
    return channelPlan(user, this.config.notifications.preference, (channel) => this.delivery.enabled(channel) && !(needsPasskey && channel === 'http'));
  }

  private async approvalNotification(request: AuthRequest, user: User): Promise<ApprovalNotification> {
    const client = await this.clients.findById(request.clientId);
    return {
      requestId: request.id,
      clientName: client?.clientName ?? request.clientId,
      bindingMessage: request.bindingMessage,
      scope: request.scope,
      authorizationDetails: request.authorizationDetails,
      expiresAt: request.expiresAt,
      approvalUrl: this.links.linkFor(request.id),
      recipientName: user.name,
    };
  }
}
