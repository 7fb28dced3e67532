import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ApprovalNotification, ConfiguredChannels, SendOutcome } from '@ciba/channels';
import { type AuthRequest, type ClaimToken, type Clock, type DeviceRepository, type NotificationChannel, type User, normalisePhoneNumber } from '@ciba/domain';
import { CLOCK, DEVICE_REPOSITORY } from '@ciba/platform';
import { APPROVAL_LINK_CHANNEL, ApprovalLinks } from '../approval-page/approval-links.js';
import type { HttpAuthenticationChannel } from '../channels/http-authentication.channel.js';
import { DecisionTokens } from '../decision-tokens.js';
import { SentDecisionTokens } from '../sent-decision-tokens.js';
import { CONFIGURED_CHANNELS } from './configured-channels.js';

export const AUTHENTICATION_CHANNEL = Symbol('AuthenticationChannel');

/** Push services' answers meaning the registration is dead: the device is removed, never retried. */
const GONE_REASONS = new Set(['subscription_gone', 'registration_token_invalid']);

/**
 * Reaching the user on one channel: the channels this deployment enabled, the decision tokens they
 * carry, and the send itself (to every active device, for device push).
 */
@Injectable()
export class ChannelDelivery {
  private readonly logger = new Logger(ChannelDelivery.name);

  constructor(
    @Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels,
    @Optional() @Inject(AUTHENTICATION_CHANNEL) private readonly httpChannel: HttpAuthenticationChannel | null,
    @Inject(DEVICE_REPOSITORY) private readonly devices: DeviceRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tokens: DecisionTokens,
    private readonly links: ApprovalLinks,
    private readonly sentTokens: SentDecisionTokens,
  ) {}

  enabled(channel: NotificationChannel): boolean {
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

  /**
   * The decision tokens any enabled channel may carry for a request, stored when the request is
   * claimed (before the user's plan is known, in the same statement): the HTTP channel's own token,
   * and the approval link's that email, SMS and device push share. Both are derived, so a token the
   * plan never sends is known to no one; it is single use and dies with the request like the others.
   */
  claimTokens(requestId: string): ClaimToken[] {
    const tokens: ClaimToken[] = [];
    if (this.httpChannel) tokens.push({ tokenHash: DecisionTokens.hash(this.tokens.tokenFor(requestId, this.httpChannel.name)), channel: this.httpChannel.name });
    if (this.channels.email || this.channels.sms || this.channels.devicePush.length > 0) tokens.push({ tokenHash: this.links.tokenHash(requestId), channel: APPROVAL_LINK_CHANNEL });
    return tokens;
  }

  /** Sends on `channel`, whose decision token the claim stored. */
  async send(channel: NotificationChannel, request: AuthRequest, user: User, notification: () => Promise<ApprovalNotification>): Promise<SendOutcome> {
    switch (channel) {
      case 'http':
        return this.sendHttp(request);
      case 'email':
        return this.channels.email!.send(user.email!, await notification());
      case 'sms':
        // SMS gateways take E.164; a stored number may carry the separators people type.
        return this.channels.sms!.send(normalisePhoneNumber(user.phoneNumber!), await notification());
      case 'device-push':
        return this.sendToDevices(user, await notification());
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
    // The device's answer may come back before the send returns.
    this.sentTokens.remember(DecisionTokens.hash(decisionToken), { requestId: request.id, expiresAt: request.expiresAt }, this.clock.now());
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
