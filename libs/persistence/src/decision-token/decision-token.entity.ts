import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';

/** Single-use token handed to an authentication device; only its hash is stored. */
@Entity({ name: 'decision_tokens' })
@Index('ix_decision_tokens_request_id', ['requestId'])
@Check('ck_decision_tokens_decision', `"decision" IN ('approved', 'denied')`)
// A token is used exactly when it recorded a decision: the two are written by one statement.
@Check('ck_decision_tokens_used_with_decision', `("used_at" IS NULL) = ("decision" IS NULL)`)
export class DecisionTokenEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'text', primaryKeyConstraintName: 'pk_decision_tokens' })
  tokenHash!: string;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  @ManyToOne(() => AuthRequestEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'request_id', referencedColumnName: 'id', foreignKeyConstraintName: 'fk_decision_tokens_request' })
  request?: Relation<AuthRequestEntity>;

  @Column({ name: 'channel', type: 'text' })
  channel!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  /** The decision this token recorded on its request (`approved` or `denied`); null while unused. */
  @Column({ name: 'decision', type: 'text', nullable: true })
  decision!: string | null;
}
