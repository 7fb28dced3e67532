import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { UserEntity } from '../user/user.entity.js';

/**
 * An outstanding WebAuthn challenge, by hash, bound to the link it was issued on (the hash of an
 * enrolment token or of a decision token). Deleted when used; expired rows are dropped as new ones
 * are issued.
 */
@Entity({ name: 'webauthn_challenges' })
@Index('ix_webauthn_challenges_binding_hash', ['bindingHash'])
@Index('ix_webauthn_challenges_expires_at', ['expiresAt'])
@Check('ck_webauthn_challenges_ceremony', `"ceremony" IN ('registration', 'authentication')`)
export class WebAuthnChallengeEntity {
  @PrimaryColumn({ name: 'challenge_hash', type: 'text', primaryKeyConstraintName: 'pk_webauthn_challenges' })
  challengeHash!: string;

  @Column({ name: 'ceremony', type: 'text' })
  ceremony!: string;

  @Column({ name: 'binding_hash', type: 'text' })
  bindingHash!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'subject', referencedColumnName: 'sub', foreignKeyConstraintName: 'fk_webauthn_challenges_user' })
  user?: Relation<UserEntity>;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
