import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { UserEntity } from '../user/user.entity.js';

/**
 * A device the user registered for device push. The target (Web Push subscription or FCM
 * registration token) is a bearer credential for the user's device: stored encrypted, looked up by
 * a keyed fingerprint. The partial indexes (one active registration per target; the sweeper's
 * unannounced registrations and unpublished revocations) are written by hand in the migrations.
 */
@Entity({ name: 'devices' })
@Index('ix_devices_subject', ['subject'])
@Index('ux_devices_target_fingerprint', { synchronize: false })
@Index('ix_devices_unannounced', { synchronize: false })
@Index('ix_devices_unpublished_revocations', { synchronize: false })
@Check('ck_devices_kind', `"kind" IN ('web-push', 'fcm')`)
@Check('ck_devices_revoked_via', `"revoked_via" IN ('client', 'enrolment_link', 'removal_link', 'admin')`)
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

  /** The client that registered the device; null when the user's enrolment link did. Not a foreign key: the trail outlives clients. */
  @Column({ name: 'client_id', type: 'text', nullable: true })
  clientId!: string | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** When the notifier took the announcement (email/SMS to the user) up. */
  @Column({ name: 'announcement_taken_at', type: 'timestamptz', nullable: true })
  announcementTakenAt!: Date | null;

  /** Who revoked it (client, enrolment_link, removal_link, admin); null when the provider ended it. */
  @Column({ name: 'revoked_via', type: 'text', nullable: true })
  revokedVia!: string | null;

  @Column({ name: 'revoked_by_client_id', type: 'text', nullable: true })
  revokedByClientId!: string | null;

  /** When the `device.revoked` event was published. */
  @Column({ name: 'revocation_published_at', type: 'timestamptz', nullable: true })
  revocationPublishedAt!: Date | null;
}
