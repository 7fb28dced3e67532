import { Inject, Injectable, Logger } from '@nestjs/common';
import { type AuthRequestRepository, type Clock, type DownstreamReport, type EventPublisher, downstreamReported } from '@ciba/domain';
import { OAuthError, invalidRequest } from '@ciba/protocol';
import { AUTH_REQUEST_REPOSITORY, CLOCK, EVENT_PUBLISHER } from '@ciba/platform';
import { OCCURRED_AT_SKEW_MS, reportDigest } from './downstream-report.js';

/** 404: no access token with this jti was issued here (the reporter's own credentials are fine). */
export const unknownJti = (): OAuthError => new OAuthError('invalid_token', 'no access token with this jti was issued by this provider', { status: 404 });

/**
 * A downstream report becomes the lifecycle event `auth_request.downstream_reported` of the request
 * the access token was issued for: on the durable bus like every other event, so the audit consumer
 * appends it to the hash-chained trail and merges it into the request's evidence record. The token
 * is found by its `jti`, recorded by the statement that issued it.
 */
@Injectable()
export class DownstreamReports {
  private readonly logger = new Logger(DownstreamReports.name);

  constructor(
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Returns the event's id; `invalid_token` (404) for an unknown jti, `temporarily_unavailable` when the bus would not take it. */
  async report(report: DownstreamReport, receivedAt: Date = this.clock.now()): Promise<string> {
    const request = await this.requests.findByAccessTokenJti(report.jti);
    if (request === null) throw unknownJti();
    // No token of the request existed before it was made: such a time is a reporter's mistake, and would misplace the report in the record.
    if (report.occurredAt.getTime() < request.createdAt.getTime() - OCCURRED_AT_SKEW_MS) throw invalidRequest('occurred_at is before the token was issued');
    const event = downstreamReported(request, report, reportDigest(report), receivedAt);
    try {
      await this.events.publish(event);
    } catch (err) {
      // Not on the bus, not recorded: the reporter must send it again, so it must not hear 202.
      this.logger.warn({ err, requestId: request.id, reporter: report.reporterClientId }, 'could not publish auth_request.downstream_reported');
      throw new OAuthError('temporarily_unavailable', 'the report could not be recorded; send it again', { headers: { 'Retry-After': '1' } });
    }
    return event.eventId;
  }
}
