import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ApprovalNotification, ConfiguredChannels, SendOutcome } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type ClientRepository,
  type Clock,
  type DecisionTokenRepository,
  type DeviceRepository,
  type EventPublisher,
  type NotificationChannel,
  type NotificationLimiter,
  type User,
  type UserRepository,
  channelPlan,
  deviceNotified,
  effectiveStatus,
  normalisePhoneNumber,
} from '@ciba/domain';
import { passkeyStepUpAcr } from '@ciba/protocol';
import { PermanentError, RetryableError } from '@ciba/messaging';
import {
  AUTH_REQUEST_REPOSITORY,
  CLIENT_REPOSITORY,
  CLOCK,
  DECISION_TOKEN_REPOSITORY,
  DEVICE_REPOSITORY,
  EVENT_PUBLISHER,
  NOTIFICATION_LIMITER,
  PROVIDER_CONFIG,
  USER_REPOSITORY,
} from '@ciba/platform';
import { ApprovalLinks } from '../approval-page/approval-links.js';
import type { HttpAuthenticationChannel } from '../channels/http-authentication.channel.js';
import { DecisionTokens } from '../decision-tokens.js';
import { DeviceDecisionService } from '../device-decision.service.js';
import { CONFIGURED_CHANNELS } from './configured-channels.js';

export const AUTHENTICATION_CHANNEL = Symbol('AuthenticationChannel');

/** Push services' answers meaning the registration is dead: the device is removed, never retried. */
const GONE_REASONS = new Set(['subscription_gone', 'registration_token_invalid']);

type Attempt = { readonly channel: NotificationChannel; readonly outcome: Exclude<SendOutcome, { kind: 'sent' }> };

/**
 * Takes each new request off the bus and reaches the user: the user's ordered channel preference
 * (or the deployment's), skipping channels that are off or that the user cannot be reached on, and
 * falling back to the next channel when one fails. The first channel that delivers ends the work
 * (ack). If none delivered but one may later, the message is redelivered after a delay, starting
 * again from the preferred channel; if every channel failed for good, the request is ended
 * (`access_denied` to the client, reason UNREACHABLE) and the message goes to the dead letters.
 *
 * Idempotent: a redelivered event for a request already notified, decided or expired is acknowledged
 * without contacting the user again, and the approval link is derived, so a resend carries the same.
 */
@Injectable()
export class UserNotifier {
  private readonly logger = new Logger(UserNotifier.name);

  constructor(
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    @Inject(DECISION_TOKEN_REPOSITORY) private readonly decisionTokens: DecisionTokenRepository,
    @Inject(DEVICE_REPOSITORY) private readonly devices: DeviceRepository,
    @Inject(NOTIFICATION_LIMITER) private readonly limiter: NotificationLimiter,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels,
    @Optional() @Inject(AUTHENTICATION_CHANNEL) private readonly httpChannel: HttpAuthenticationChannel | null,
    private readonly tokens: DecisionTokens,
    private readonly links: ApprovalLinks,
    private readonly decisions: DeviceDecisionService,
  ) {}

  async notify(requestId: string): Promise<void> {
    const request = await this.requests.findById(requestId);
    const now = this.clock.now();
    if (!request || request.notifiedAt !== null || effectiveStatus(request, now) !== 'pending') return;

    const user = await this.users.findBySub(request.subject);
    // A request that needs a passkey is answered on the approval page only: the HTTP authentication
    // channel's device decides on its own and cannot show the passkey ceremony, so it is left out.
    const needsPasskey = passkeyStepUpAcr(request.acrValues, this.config.stepUp.passkeyAcrValues) !== null;
    const plan = user ? channelPlan(user, this.config.notifications.preference, (channel) => this.enabled(channel) && !(needsPasskey && channel === 'http')) : [];
    if (!user || plan.length === 0) {
      await this.decisions.refuse(request, 'UNREACHABLE');
      throw new PermanentError('no enabled channel reaches the user');
    }

    // Every limit is the asking client's own: one client reaching a limit never blocks another's request.
    const verdict = await this.limiter.acquire(request, now, this.config.notifications.promptLimits);
    if (!verdict.allowed) {
      this.logger.warn({ requestId: request.id, clientId: request.clientId, limit: verdict.limit }, 'prompt limit reached; request refused without notifying');
      await this.decisions.refuse(request, 'RATE_LIMITED', verdict.limit);
      return;
    }

    const attempts: Attempt[] = [];
    let notification: ApprovalNotification | null = null;
    for (const channel of plan) {
      if (channel !== 'http') notification ??= await this.approvalNotification(request, user);
      const outcome = channel === 'http' ? await this.sendHttp(request) : await this.sendVia(channel, user, notification!);
      if (outcome.kind === 'sent') {
        const notifiedAt = this.clock.now();
        await this.requests.markNotified(request.id, notifiedAt);
        await this.events.publish(deviceNotified(request, channel, notifiedAt));
        this.logger.log({ requestId: request.id, channel, fallbacks: attempts.length }, 'user notified');
        return;
      }
      this.logger.warn({ requestId: request.id, channel, outcome: outcome.kind, reason: outcome.reason }, 'channel did not deliver');
      attempts.push({ channel, outcome });
    }

    const summary = attempts.map((a) => `${a.channel}: ${a.outcome.reason}`).join(', ');
    // Channels fail together as devices do: retryable if any may deliver later, after the shortest wait asked for.
    const overall = combineOutcomes(attempts.map((a) => a.outcome));
    if (overall.kind === 'retryable') throw new RetryableError(`no channel delivered yet (${summary})`, overall.retryAfterMs ?? undefined);
    await this.decisions.refuse(request, 'UNREACHABLE');
    throw new PermanentError(`every channel failed (${summary})`);
  }

  private enabled(channel: NotificationChannel): boolean {
    switch (channel) {
      case 'http':
        return this.httpChannel !== null;
      case 'email':
        return this.channels.email !== null;
      case 'sms':
        return this.channels.sms !== null;
      case 'device-push':
        return this.channels.devicePush.length > 0;
    }
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
      approvalUrl: await this.links.issue(request),
      recipientName: user.name,
    };
  }

  private async sendVia(channel: Exclude<NotificationChannel, 'http'>, user: User, notification: ApprovalNotification): Promise<SendOutcome> {
    switch (channel) {
      case 'email':
        return this.channels.email!.send(user.email!, notification);
      case 'sms':
        // SMS gateways take E.164; a stored number may carry the separators people type.
        return this.channels.sms!.send(normalisePhoneNumber(user.phoneNumber!), notification);
      case 'device-push':
        return this.sendToDevices(user, notification);
    }
  }

  /**
   * Every active device an enabled adapter can reach: delivered when any device took it. A device the
   * push service reports gone is revoked so it is never tried again.
   */
  private async sendToDevices(user: User, notification: ApprovalNotification): Promise<SendOutcome> {
    // Never a registration past its lifetime: it is not active any more.
    const devices = await this.devices.listActive(user.sub, this.clock.now());
    const outcomes: SendOutcome[] = [];
    for (const device of devices) {
      const adapter = this.channels.devicePush.find((c) => c.accepts(device.target));
      if (!adapter) continue;
      const outcome = await adapter.send(device.target, notification);
      outcomes.push(outcome);
      const now = this.clock.now();
      if (outcome.kind === 'sent') await this.devices.markUsed(device.id, now);
      else if (outcome.kind === 'permanent' && GONE_REASONS.has(outcome.reason)) {
        await this.devices.revoke(user.sub, device.id, 'gone', now);
        this.logger.log({ deviceId: device.id, reason: outcome.reason }, 'device registration gone; revoked');
      }
    }
    return combineOutcomes(outcomes);
  }

  /** The Keycloak-compatible HTTP authentication channel, with its own decision token. */
  private async sendHttp(request: AuthRequest): Promise<SendOutcome> {
    const channel = this.httpChannel!;
    const decisionToken = this.tokens.tokenFor(request.id, channel.name);
    await this.decisionTokens.save({ tokenHash: DecisionTokens.hash(decisionToken), requestId: request.id, channel: channel.name, expiresAt: request.expiresAt });
    const outcome = await channel.send({
      decisionToken,
      loginHint: request.subject,
      bindingMessage: request.bindingMessage,
      scope: request.scope,
      acrValues: request.acrValues,
      clientId: request.clientId,
      authorizationDetails: request.authorizationDetails,
    });
    return outcome.ok ? { kind: 'sent', providerMessageId: null } : { kind: 'retryable', reason: outcome.reason, retryAfterMs: null };
  }
}

/** Several outcomes (devices of one user, or channels of one plan) as one: sent if any was, else retryable if any may later, else permanent. */
export function combineOutcomes(outcomes: readonly SendOutcome[]): SendOutcome {
  const sent = outcomes.find((o) => o.kind === 'sent');
  if (sent) return sent;
  const retryable = outcomes.filter((o): o is Extract<SendOutcome, { kind: 'retryable' }> => o.kind === 'retryable');
  if (retryable.length > 0) {
    const delays = retryable.map((o) => o.retryAfterMs).filter((d): d is number => d !== null);
    return { kind: 'retryable', reason: retryable[0].reason, retryAfterMs: delays.length > 0 ? Math.min(...delays) : null };
  }
  const permanent = outcomes.find((o) => o.kind === 'permanent');
  return permanent ?? { kind: 'permanent', reason: 'no_registered_device' };
}
