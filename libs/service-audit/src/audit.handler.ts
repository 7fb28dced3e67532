import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type AuditRecord, type AuditRepository, type LifecycleEvent, isDeviceEvent } from '@ciba/domain';
import { OnBusBatch } from '@ciba/messaging';
import { AUDIT_REPOSITORY } from '@ciba/platform';
import { AuditCheckpointScheduler } from './chain/audit-checkpoint.scheduler.js';
import { evidenceOfBatch } from './evidence/evidence-assembler.js';
import { trailDetails } from './evidence/trail-payload.js';

/**
 * The `audit` durable consumer receives every lifecycle event — of authentication requests and of
 * device registrations — and appends one record per event, several events per statement: the bus
 * hands over as many as are at hand and acknowledges them only once the statement has committed.
 * Redeliveries are absorbed by the event id. Each request's evidence record is merged from the same
 * events (`evidence/`) by the same statement.
 */
@Controller()
export class AuditHandler {
  private readonly logger = new Logger(AuditHandler.name);

  constructor(
    @Inject(AUDIT_REPOSITORY) private readonly audit: AuditRepository,
    private readonly checkpoints: AuditCheckpointScheduler,
  ) {}

  @OnBusBatch('audit')
  async onEvents(@Payload() events: readonly LifecycleEvent[]): Promise<void> {
    // The trail and each request's evidence record in one statement (idempotent: a failure redelivers the batch).
    const stored = await this.audit.appendMany(events.map(auditRecordOf), evidenceOfBatch(events));
    if (stored < events.length) this.logger.debug({ duplicates: events.length - stored }, 'duplicate events ignored');
    this.checkpoints.appended(stored);
  }
}

/** The envelope goes to columns (request or device, client, subject, time), the rest to the payload. */
export function auditRecordOf(event: LifecycleEvent): AuditRecord {
  if (isDeviceEvent(event)) {
    const { type, version, eventId, deviceId, clientId, subject, occurredAt, correlationId, ...details } = event;
    return { eventId, type, requestId: null, clientId, deviceId, subject, occurredAt: new Date(occurredAt), correlationId, payload: { version, deviceId, ...details } };
  }
  const { type, version, eventId, requestId, clientId, subject, occurredAt, correlationId, ...details } = event;
  return { eventId, type, requestId, clientId, subject, occurredAt: new Date(occurredAt), correlationId, payload: { version, ...trailDetails(details) } };
}
