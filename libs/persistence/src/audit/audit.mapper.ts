import type { AuditRecord } from '@ciba/domain';
import type { AuditRecordEntity } from './audit-record.entity.js';

export function toAuditRecord(entity: AuditRecordEntity): AuditRecord {
  return {
    eventId: entity.eventId,
    type: entity.type,
    requestId: entity.requestId,
    clientId: entity.clientId,
    ...(entity.deviceId !== null ? { deviceId: entity.deviceId } : {}),
    subject: entity.subject,
    occurredAt: entity.occurredAt,
    correlationId: entity.correlationId,
    payload: entity.payload,
  };
}
