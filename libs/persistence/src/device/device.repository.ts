import type { Device, DeviceRepository, DeviceRevocationReason, DeviceTarget } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { oneOf } from '../mapping.js';
import { hydrate, queryRows } from '../sql.js';
import { DeviceEntity } from './device.entity.js';

/**
 * Seals device targets at rest: authenticated encryption bound to the device id, and a keyed
 * fingerprint (never a plain hash: a registration token is guessable from a hash no better than
 * from itself, but a keyed one does not let a database reader confirm a token it holds).
 */
export interface DeviceTargetSealer {
  seal(plaintext: string, deviceId: string): string;
  open(sealed: string, deviceId: string): string;
  fingerprint(plaintext: string): string;
}

const KINDS = ['web-push', 'fcm'] as const;

export class TypeOrmDeviceRepository implements DeviceRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sealer: DeviceTargetSealer,
  ) {}

  async register(device: { id: string; subject: string; label: string | null; target: DeviceTarget }, now: Date): Promise<Device> {
    const plaintext = JSON.stringify(device.target);
    const fingerprint = this.sealer.fingerprint(plaintext);
    return this.dataSource.transaction(async (manager) => {
      // One active registration per target: re-enrolling the same browser or app replaces the old one.
      await queryRows(manager, `UPDATE devices SET revoked_at = $2, revoked_reason = 'replaced' WHERE target_fingerprint = $1 AND revoked_at IS NULL`, [fingerprint, now]);
      const rows = await queryRows(
        manager,
        `INSERT INTO devices (id, subject, kind, label, target_fingerprint, encrypted_target, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [device.id, device.subject, device.target.kind, device.label, fingerprint, this.sealer.seal(plaintext, device.id), now],
      );
      return this.toDevice(hydrate(manager, DeviceEntity, rows[0]));
    });
  }

  async listActive(subject: string): Promise<Device[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM devices WHERE subject = $1 AND revoked_at IS NULL ORDER BY created_at, id`, [subject]);
    return rows.map((row) => this.toDevice(hydrate(this.dataSource, DeviceEntity, row)));
  }

  async revoke(subject: string, id: string, reason: DeviceRevocationReason, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE devices SET revoked_at = $3, revoked_reason = $4 WHERE id = $1 AND subject = $2 AND revoked_at IS NULL RETURNING id`,
      [id, subject, now, reason],
    );
    return rows.length === 1;
  }

  async markUsed(id: string, now: Date): Promise<void> {
    await queryRows(this.dataSource, `UPDATE devices SET last_used_at = $2 WHERE id = $1`, [id, now]);
  }

  private toDevice(entity: DeviceEntity): Device {
    const kind = oneOf(entity.kind, KINDS, 'devices.kind');
    const target = JSON.parse(this.sealer.open(entity.encryptedTarget, entity.id)) as DeviceTarget;
    if (target.kind !== kind) throw new Error('unexpected value in devices.encrypted_target');
    return {
      id: entity.id,
      subject: entity.subject,
      label: entity.label,
      target,
      createdAt: entity.createdAt,
      lastUsedAt: entity.lastUsedAt,
      revokedAt: entity.revokedAt,
    };
  }
}
