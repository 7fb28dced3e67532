import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { UserEntity } from '../user/user.entity.js';

/** One-time device enrolment link, sent to a verified channel; only its hash is stored. */
@Entity({ name: 'enrolment_tokens' })
export class EnrolmentTokenEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'text', primaryKeyConstraintName: 'pk_enrolment_tokens' })
  tokenHash!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'subject', referencedColumnName: 'sub', foreignKeyConstraintName: 'fk_enrolment_tokens_user' })
  user?: Relation<UserEntity>;

  /** The verified channel kind the link went to (email, sms). */
  @Column({ name: 'sent_via', type: 'text' })
  sentVia!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** When the link registered a device: its main use. */
  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  /** When the link added a passkey: each link may add one, whether or not it registered a device. */
  @Column({ name: 'passkey_registered_at', type: 'timestamptz', nullable: true })
  passkeyRegisteredAt!: Date | null;
}
