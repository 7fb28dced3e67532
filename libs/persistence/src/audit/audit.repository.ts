import type { AuditRecord, AuditRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { AuditRecordEntity } from './audit-record.entity.js';
import { toAuditRecord } from './audit.mapper.js';

export class TypeOrmAuditRepository implements AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Idempotent by event id: a redelivered event is a no-op and returns false. */
  async append(record: AuditRecord): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `INSERT INTO audit_records (event_id, type, request_id, client_id, subject, occurred_at, correlation_id, payload, device_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        record.eventId,
        record.type,
        record.requestId,
        record.clientId,
        record.subject,
        record.occurredAt,
        record.correlationId,
        JSON.stringify(record.payload),
        record.deviceId ?? null,
      ],
    );
    return rows.length === 1;
  }

  /** The trail of one request, oldest first (admin tool, tests). */
  async listForRequest(requestId: string): Promise<AuditRecord[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_records WHERE request_id = $1 ORDER BY occurred_at, event_id`, [
      requestId,
    ]);
    return rows.map((row) => toAuditRecord(hydrate(this.dataSource, AuditRecordEntity, row)));
  }

  /** The trail of one device registration, oldest first (admin tool, tests). */
  async listForDevice(deviceId: string): Promise<AuditRecord[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_records WHERE device_id = $1 ORDER BY occurred_at, event_id`, [deviceId]);
    return rows.map((row) => toAuditRecord(hydrate(this.dataSource, AuditRecordEntity, row)));
  }
}
