import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';

@Entity({ name: 'callback_deliveries' })
@Index('ix_callback_deliveries_request_id', ['requestId'])
@Index('ix_callback_deliveries_status', ['status', 'createdAt'])
@Check('ck_callback_deliveries_trigger', `"trigger" IN ('approved', 'denied', 'expired')`)
@Check('ck_callback_deliveries_kind', `"kind" IN ('ping', 'push_tokens', 'push_error')`)
@Check('ck_callback_deliveries_status', `"status" IN ('pending', 'delivered', 'failed')`)
export class CallbackDeliveryEntity {
  @PrimaryColumn({ name: 'id', type: 'text', primaryKeyConstraintName: 'pk_callback_deliveries' })
  id!: string;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  @ManyToOne(() => AuthRequestEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'request_id', referencedColumnName: 'id', foreignKeyConstraintName: 'fk_callback_deliveries_request' })
  request?: Relation<AuthRequestEntity>;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'trigger', type: 'text' })
  trigger!: string;

  @Column({ name: 'kind', type: 'text' })
  kind!: string;

  @Column({ name: 'endpoint', type: 'text' })
  endpoint!: string;

  @Column({ name: 'encrypted_message', type: 'text' })
  encryptedMessage!: string;

  @Column({ name: 'status', type: 'text', default: 'pending' })
  status!: string;

  @Column({ name: 'attempts', type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'attempt_lease_until', type: 'timestamptz', nullable: true })
  attemptLeaseUntil!: Date | null;
}
