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

  /**
   * Several records in one statement (one transaction: all or none), each idempotent by event id;
   * returns how many were stored now.
   */
  async appendMany(records: readonly AuditRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const rows = await queryRows(
      this.dataSource,
      `INSERT INTO audit_records (event_id, type, request_id, client_id, subject, occurred_at, correlation_id, payload, device_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::jsonb[], $9::text[])
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id`,
      [
        records.map((record) => record.eventId),
        records.map((record) => record.type),
        records.map((record) => record.requestId),
        records.map((record) => record.clientId),
        records.map((record) => record.subject),
        records.map((record) => record.occurredAt),
        records.map((record) => record.correlationId),
        records.map((record) => JSON.stringify(record.payload)),
        records.map((record) => record.deviceId ?? null),
      ],
    );
    return rows.length;
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
