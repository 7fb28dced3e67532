import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import type { AuditRepository } from '@ciba/domain';
import { handlerPattern, parseLifecycleEvent } from '@ciba/messaging';
import { AUDIT_REPOSITORY } from '@ciba/platform';

/**
 * The `audit` durable consumer receives every lifecycle event and appends one record per event;
 * redeliveries are absorbed by the event id. (The full evidence record is a later addition.)
 */
@Controller()
export class AuditHandler {
  private readonly logger = new Logger(AuditHandler.name);

  constructor(@Inject(AUDIT_REPOSITORY) private readonly audit: AuditRepository) {}

  @EventPattern(handlerPattern('audit', '*'))
  async onEvent(@Payload() data: unknown): Promise<void> {
    const event = parseLifecycleEvent(data);
    const { type, version, eventId, requestId, clientId, subject, occurredAt, correlationId, ...details } = event;
    const stored = await this.audit.append({
      eventId,
      type,
      requestId,
      clientId,
      subject,
      occurredAt: new Date(occurredAt),
      correlationId,
      payload: { version, ...details },
    });
    if (!stored) this.logger.debug({ eventId }, 'duplicate event ignored');
  }
}
