import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequestRepository,
  type Clock,
  type DecisionTokenRepository,
  type EventPublisher,
  effectiveStatus,
  deviceNotified,
} from '@ciba/domain';
import { RetryableError } from '@ciba/messaging';
import { AUTH_REQUEST_REPOSITORY, CLOCK, DECISION_TOKEN_REPOSITORY, EVENT_PUBLISHER } from '@ciba/platform';
import type { HttpAuthenticationChannel } from './channels/http-authentication.channel.js';
import { DecisionTokens } from './decision-tokens.js';

export const AUTHENTICATION_CHANNEL = Symbol('AuthenticationChannel');

/**
 * Takes each new request off the bus and reaches the user's authentication device. Idempotent:
 * a redelivered event for a request already notified, decided or expired is acknowledged without
 * contacting the device again.
 */
@Injectable()
export class DeviceNotifier {
  private readonly logger = new Logger(DeviceNotifier.name);

  constructor(
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(DECISION_TOKEN_REPOSITORY) private readonly decisionTokens: DecisionTokenRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(AUTHENTICATION_CHANNEL) private readonly channel: HttpAuthenticationChannel,
    private readonly tokens: DecisionTokens,
  ) {}

  async notify(requestId: string): Promise<void> {
    const request = await this.requests.findById(requestId);
    const now = this.clock.now();
    if (!request || request.notifiedAt !== null || effectiveStatus(request, now) !== 'pending') return;

    const decisionToken = this.tokens.tokenFor(request.id, this.channel.name);
    await this.decisionTokens.save({
      tokenHash: DecisionTokens.hash(decisionToken),
      requestId: request.id,
      channel: this.channel.name,
      expiresAt: request.expiresAt,
    });
    const outcome = await this.channel.send({
      decisionToken,
      loginHint: request.subject,
      bindingMessage: request.bindingMessage,
      scope: request.scope,
      acrValues: request.acrValues,
      clientId: request.clientId,
    });
    if (!outcome.ok) {
      this.logger.warn({ requestId: request.id, channel: this.channel.name, reason: outcome.reason }, 'authentication device not reached; will retry');
      throw new RetryableError(outcome.reason);
    }
    const notifiedAt = this.clock.now();
    await this.requests.markNotified(request.id, notifiedAt);
    await this.events.publish(deviceNotified(request, this.channel.name, notifiedAt));
    this.logger.log({ requestId: request.id, channel: this.channel.name }, 'authentication device notified');
  }
}
