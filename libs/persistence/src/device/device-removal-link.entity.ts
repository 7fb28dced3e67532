import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import type { Relation } from 'typeorm';
import { DeviceEntity } from './device.entity.js';

/**
 * The one-time link in a new device's announcement that removes it; only its hash is stored. One
 * per device and channel, so a redelivered announcement never leaves a second live link.
 */
@Entity({ name: 'device_removal_links' })
@Unique('uq_device_removal_links_device_sent_via', ['deviceId', 'sentVia'])
@Check('ck_device_removal_links_sent_via', `"sent_via" IN ('email', 'sms')`)
export class DeviceRemovalLinkEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'text', primaryKeyConstraintName: 'pk_device_removal_links' })
  tokenHash!: string;

  @Column({ name: 'device_id', type: 'uuid' })
  deviceId!: string;

  @ManyToOne(() => DeviceEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'device_id', referencedColumnName: 'id', foreignKeyConstraintName: 'fk_device_removal_links_device' })
  device?: Relation<DeviceEntity>;

  @Column({ name: 'sent_via', type: 'text' })
  sentVia!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  /** Set once the channel accepted the message: a redelivered announcement does not send it again. */
  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;
}
