import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Append-only audit trail, one row per lifecycle event. `request_id` is text, not a foreign key:
 * the trail must accept every event, even one about a request that was purged since.
 */
@Entity({ name: 'audit_records' })
@Index('ix_audit_records_request_id_occurred_at', ['requestId', 'occurredAt'])
@Index('ix_audit_records_client_id_occurred_at', ['clientId', 'occurredAt'])
export class AuditRecordEntity {
  @PrimaryColumn({ name: 'event_id', type: 'text', primaryKeyConstraintName: 'pk_audit_records' })
  eventId!: string;

  @Column({ name: 'type', type: 'text' })
  type!: string;

  @Column({ name: 'request_id', type: 'text' })
  requestId!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

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
}
