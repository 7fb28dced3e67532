import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { UserEntity } from '../user/user.entity.js';

/** A passkey (WebAuthn credential) for step-up: public key and signature counter, no secret. */
@Entity({ name: 'passkeys' })
@Index('uq_passkeys_credential_id', ['credentialId'], { unique: true })
@Index('ix_passkeys_subject', ['subject'])
@Check('ck_passkeys_sign_count', `"sign_count" >= 0`)
export class PasskeyEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'pk_passkeys' })
  id!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'subject', referencedColumnName: 'sub', foreignKeyConstraintName: 'fk_passkeys_user' })
  user?: Relation<UserEntity>;

  /** WebAuthn credential id, base64url: unique across users (WebAuthn §7.1 step 25). */
  @Column({ name: 'credential_id', type: 'text' })
  credentialId!: string;

  /** COSE_Key. */
  @Column({ name: 'public_key', type: 'bytea' })
  publicKey!: Buffer;

  /** A uint32 in WebAuthn: bigint, which pg hands back as a string. */
  @Column({ name: 'sign_count', type: 'bigint' })
  signCount!: string;

  @Column({ name: 'transports', type: 'text', array: true, default: () => "'{}'" })
  transports!: string[];

  @Column({ name: 'backed_up', type: 'boolean' })
  backedUp!: boolean;

  @Column({ name: 'label', type: 'text', nullable: true })
  label!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;
}
