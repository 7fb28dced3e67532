import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type Clock,
  type Decision,
  type DecisionTokenRepository,
  type EventPublisher,
  type PendingPollCache,
  requestDecided,
} from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { AUTH_REQUEST_REPOSITORY, CLOCK, DECISION_TOKEN_REPOSITORY, EVENT_PUBLISHER, PENDING_POLL_CACHE } from '@ciba/platform';
import { DecisionTokens } from './decision-tokens.js';

/** The device's answer in the HTTP authentication channel's vocabulary. */
export const DEVICE_STATUSES = ['SUCCEED', 'UNAUTHORIZED', 'CANCELLED'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

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
  ) {}

  /** `channel`: the channel the token must have been issued for — a token answers only where it was sent. */
  async decide(decisionToken: string | null, status: DeviceStatus, channel: string): Promise<AuthRequest> {
    if (!decisionToken) throw invalidToken('a bearer decision token is required');
    const tokenHash = DecisionTokens.hash(decisionToken);
    const now = this.clock.now();
    const known = await this.decisionTokens.find(tokenHash);
    if (!known || known.usedAt !== null || known.channel !== channel) throw invalidToken('the decision token is unknown or was already used');
    if (known.expiresAt.getTime() <= now.getTime()) {
      throw new OAuthError('expired_token', 'the authentication request has expired');
    }
    // Settle the poll cache before the decision commits, so no token replica keeps answering
    // authorization_pending for a decided request. If this fails nothing has changed yet.
    const request = await this.requests.findById(known.requestId);
    if (request) await this.pollCache.settle(request.authReqId, request.expiresAt);
    const consumed = await this.decisionTokens.consume(tokenHash, now);
    if (!consumed) throw invalidToken('the decision token is unknown or was already used');

    const decision: Decision = status === 'SUCCEED' ? { kind: 'approve' } : { kind: 'deny', reason: status };
    const decided = await this.requests.decide(consumed.requestId, decision, now);
    if (!decided) throw new OAuthError('expired_token', 'the authentication request is no longer pending');
    await this.events.publish(requestDecided(decided));
    this.logger.log({ requestId: decided.id, decision: decided.status }, 'authentication device decided');
    return decided;
  }
}
