import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';

/**
 * One row per request the notifier took to a user: the sliding window the per-(client, user) prompt
 * limit counts, and what makes counting a request idempotent.
 */
@Entity({ name: 'user_notifications' })
@Index('ix_user_notifications_client_subject', ['clientId', 'subject', 'sentAt'])
export class UserNotificationEntity {
  @PrimaryColumn({ name: 'request_id', type: 'uuid', primaryKeyConstraintName: 'pk_user_notifications' })
  requestId!: string;

  @ManyToOne(() => AuthRequestEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'request_id', referencedColumnName: 'id', foreignKeyConstraintName: 'fk_user_notifications_request' })
  request?: Relation<AuthRequestEntity>;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt!: Date;
}
