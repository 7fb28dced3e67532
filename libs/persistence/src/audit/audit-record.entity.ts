import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Append-only audit trail, one row per lifecycle event. `request_id` and `device_id` are text, not
 * foreign keys: the trail must accept every event, even one about a request or device purged since.
 * Request events carry a request and a client; device events a device, and a client when one took part.
 */
@Entity({ name: 'audit_records' })
@Index('ix_audit_records_request_id_occurred_at', ['requestId', 'occurredAt'])
@Index('ix_audit_records_client_id_occurred_at', ['clientId', 'occurredAt'])
@Index('ix_audit_records_device_id_occurred_at', ['deviceId', 'occurredAt'])
@Index('ux_audit_records_seq', ['seq'], { unique: true })
export class AuditRecordEntity {
  @PrimaryColumn({ name: 'event_id', type: 'text', primaryKeyConstraintName: 'pk_audit_records' })
  eventId!: string;

  @Column({ name: 'type', type: 'text' })
  type!: string;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;

  @Column({ name: 'client_id', type: 'text', nullable: true })
  clientId!: string | null;

  @Column({ name: 'device_id', type: 'text', nullable: true })
  deviceId!: string | null;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;

  @Column({ name: 'payload', type: 'jsonb' })
  payload!: Record<string, unknown>;

  @CreateDateColumn({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;

  /** Place in the hash chain (`audit-chain.ts`); null for rows recorded before the chain began. bigint: a string. */
  @Column({ name: 'seq', type: 'bigint', nullable: true })
  seq!: string | null;

  @Column({ name: 'prev_hash', type: 'text', nullable: true })
  prevHash!: string | null;

  @Column({ name: 'hash', type: 'text', nullable: true })
  hash!: string | null;
}
