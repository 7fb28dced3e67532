import { Controller, Inject, Logger } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { type AuditRecord, type AuditRepository, type LifecycleEvent, isDeviceEvent } from '@ciba/domain';
import { handlerPattern, parseLifecycleEvent } from '@ciba/messaging';
import { AUDIT_REPOSITORY } from '@ciba/platform';

/**
 * The `audit` durable consumer receives every lifecycle event — of authentication requests and of
 * device registrations — and appends one record per event; redeliveries are absorbed by the event
 * id. (The full evidence record is a later addition.)
 */
@Controller()
export class AuditHandler {
  private readonly logger = new Logger(AuditHandler.name);

  constructor(@Inject(AUDIT_REPOSITORY) private readonly audit: AuditRepository) {}

  @EventPattern(handlerPattern('audit', '*'))
  async onEvent(@Payload() data: unknown): Promise<void> {
    const event = parseLifecycleEvent(data);
    const stored = await this.audit.append(auditRecordOf(event));
    if (!stored) this.logger.debug({ eventId: event.eventId }, 'duplicate event ignored');
  }
}

/** The envelope goes to columns (request or device, client, subject, time), the rest to the payload. */
export function auditRecordOf(event: LifecycleEvent): AuditRecord {
  if (isDeviceEvent(event)) {
    const { type, version, eventId, deviceId, clientId, subject, occurredAt, correlationId, ...details } = event;
    return { eventId, type, requestId: null, clientId, deviceId, subject, occurredAt: new Date(occurredAt), correlationId, payload: { version, deviceId, ...details } };
  }
  const { type, version, eventId, requestId, clientId, subject, occurredAt, correlationId, ...details } = event;
  return { eventId, type, requestId, clientId, subject, occurredAt: new Date(occurredAt), correlationId, payload: { version, ...details } };
}
