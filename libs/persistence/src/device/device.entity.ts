import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { UserEntity } from '../user/user.entity.js';

/**
 * A device the user registered for device push. The target (Web Push subscription or FCM
 * registration token) is a bearer credential for the user's device: stored encrypted, looked up by
 * a keyed fingerprint. The partial unique index (one active registration per target) is written by
 * hand in the migration.
 */
@Entity({ name: 'devices' })
@Index('ix_devices_subject', ['subject'])
@Index('ux_devices_target_fingerprint', { synchronize: false })
@Check('ck_devices_kind', `"kind" IN ('web-push', 'fcm')`)
export class DeviceEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'pk_devices' })
  id!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'subject', referencedColumnName: 'sub', foreignKeyConstraintName: 'fk_devices_user' })
  user?: Relation<UserEntity>;

  @Column({ name: 'kind', type: 'text' })
  kind!: string;

  @Column({ name: 'label', type: 'text', nullable: true })
  label!: string | null;

  @Column({ name: 'target_fingerprint', type: 'text' })
  targetFingerprint!: string;

  @Column({ name: 'encrypted_target', type: 'text' })
  encryptedTarget!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_reason', type: 'text', nullable: true })
  revokedReason!: string | null;
}
