import type {
  Device,
  DeviceAnnouncementChannel,
  DeviceRepository,
  DeviceRevocation,
  DeviceRevocationReason,
  DeviceRevoker,
  NewDevice,
} from '@ciba/domain';
import type { DataSource, EntityManager } from 'typeorm';
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
const REASONS = ['revoked', 'gone', 'replaced'] as const;
const REVOKERS = ['client', 'enrolment_link', 'removal_link', 'admin'] as const;

export class TypeOrmDeviceRepository implements DeviceRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sealer: DeviceTargetSealer,
  ) {}

  async register(device: NewDevice, now: Date): Promise<Device> {
    const plaintext = JSON.stringify(device.target);
    const fingerprint = this.sealer.fingerprint(plaintext);
    return this.dataSource.transaction(async (manager) => {
      // One active registration per target: re-enrolling the same browser or app replaces the old one.
      await queryRows(manager, `UPDATE devices SET revoked_at = $2, revoked_reason = 'replaced' WHERE target_fingerprint = $1 AND revoked_at IS NULL`, [fingerprint, now]);
      const rows = await queryRows(
        manager,
        `INSERT INTO devices (id, subject, kind, label, target_fingerprint, encrypted_target, created_at, client_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [device.id, device.subject, device.target.kind, device.label, fingerprint, this.sealer.seal(plaintext, device.id), now, device.clientId ?? null, device.expiresAt],
      );
      return this.toDevice(manager, rows[0]);
    });
  }

  async find(id: string): Promise<Device | null> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM devices WHERE id = $1`, [id]);
    return rows[0] ? this.toDevice(this.dataSource, rows[0]) : null;
  }

  async listActive(subject: string, now: Date, registeredBy?: string): Promise<Device[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM devices WHERE subject = $1 AND revoked_at IS NULL AND expires_at > $2 AND ($3::text IS NULL OR client_id = $3)
        ORDER BY created_at, id`,
      [subject, now, registeredBy ?? null],
    );
    return rows.map((row) => this.toDevice(this.dataSource, row));
  }

  async revoke(subject: string, id: string, reason: DeviceRevocationReason, now: Date, by?: DeviceRevoker): Promise<Device | null> {
    // A client ends only registrations it made itself; the user and operators end any of the user's.
    const rows = await queryRows(
      this.dataSource,
      `UPDATE devices SET revoked_at = $3, revoked_reason = $4, revoked_via = $5, revoked_by_client_id = $6
        WHERE id = $1 AND subject = $2 AND revoked_at IS NULL AND ($6::text IS NULL OR client_id = $6)
        RETURNING *`,
      [id, subject, now, reason, by?.via ?? null, by?.via === 'client' ? by.clientId : null],
    );
    return rows[0] ? this.toDevice(this.dataSource, rows[0]) : null;
  }

  async markUsed(id: string, now: Date): Promise<void> {
    await queryRows(this.dataSource, `UPDATE devices SET last_used_at = $2 WHERE id = $1`, [id, now]);
  }

  async markAnnouncementTaken(id: string, now: Date): Promise<void> {
    await queryRows(this.dataSource, `UPDATE devices SET announcement_taken_at = $2 WHERE id = $1 AND announcement_taken_at IS NULL`, [id, now]);
  }

  async findUnannounced(registeredBefore: Date, limit: number): Promise<Device[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM devices WHERE announcement_taken_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [registeredBefore, limit],
    );
    return rows.map((row) => this.toDevice(this.dataSource, row));
  }

  async findUnpublishedRevocations(revokedBefore: Date, limit: number): Promise<Device[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM devices WHERE revoked_at IS NOT NULL AND revocation_published_at IS NULL AND revoked_at < $1 ORDER BY revoked_at LIMIT $2`,
      [revokedBefore, limit],
    );
    return rows.map((row) => this.toDevice(this.dataSource, row));
  }

  async markRevocationPublished(id: string): Promise<void> {
    await queryRows(this.dataSource, `UPDATE devices SET revocation_published_at = now() WHERE id = $1 AND revocation_published_at IS NULL`, [id]);
  }

  async prepareRemovalLink(deviceId: string, sentVia: DeviceAnnouncementChannel, tokenHash: string, expiresAt: Date, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `INSERT INTO device_removal_links (token_hash, device_id, sent_via, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (device_id, sent_via) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
         WHERE device_removal_links.sent_at IS NULL AND device_removal_links.used_at IS NULL
       RETURNING token_hash`,
      [tokenHash, deviceId, sentVia, expiresAt, now],
    );
    return rows.length === 1;
  }

  async markRemovalLinkSent(tokenHash: string, now: Date): Promise<void> {
    await queryRows(this.dataSource, `UPDATE device_removal_links SET sent_at = $2 WHERE token_hash = $1 AND sent_at IS NULL`, [tokenHash, now]);
  }

  async findByRemovalLink(tokenHash: string, now: Date): Promise<Device | null> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT d.* FROM device_removal_links l JOIN devices d ON d.id = l.device_id
        WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND d.revoked_at IS NULL AND d.expires_at > $2`,
      [tokenHash, now],
    );
    return rows[0] ? this.toDevice(this.dataSource, rows[0]) : null;
  }

  async revokeWithRemovalLink(tokenHash: string, now: Date): Promise<Device | null> {
    return this.dataSource.transaction(async (manager) => {
      const links = await queryRows<{ device_id: string }>(
        manager,
        `UPDATE device_removal_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING device_id`,
        [tokenHash, now],
      );
      const link = links[0];
      if (!link) return null;
      const rows = await queryRows(
        manager,
        `UPDATE devices SET revoked_at = $2, revoked_reason = 'revoked', revoked_via = 'removal_link', revoked_by_client_id = NULL
          WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 RETURNING *`,
        [link.device_id, now],
      );
      // A device that ended meanwhile: the link is spent all the same, there is nothing left for it to do.
      return rows[0] ? this.toDevice(manager, rows[0]) : null;
    });
  }

  private toDevice(executor: DataSource | EntityManager, row: Record<string, unknown>): Device {
    const entity = hydrate(executor, DeviceEntity, row);
    const kind = oneOf(entity.kind, KINDS, 'devices.kind');
    const target = JSON.parse(this.sealer.open(entity.encryptedTarget, entity.id)) as DeviceTarget;
    if (target.kind !== kind) throw new Error('unexpected value in devices.encrypted_target');
    return {
      id: entity.id,
      subject: entity.subject,
      label: entity.label,
      target,
      clientId: entity.clientId,
      createdAt: entity.createdAt,
      expiresAt: entity.expiresAt,
      lastUsedAt: entity.lastUsedAt,
      revokedAt: entity.revokedAt,
      revocation: entity.revokedAt === null ? null : revocationOf(entity),
    };
  }
}

type DeviceTarget = Device['target'];

function revocationOf(entity: DeviceEntity): DeviceRevocation {
  const reason = oneOf(entity.revokedReason ?? '', REASONS, 'devices.revoked_reason');
  if (entity.revokedVia === null) return { reason, by: null };
  const via = oneOf(entity.revokedVia, REVOKERS, 'devices.revoked_via');
  if (via !== 'client') return { reason, by: { via } };
  if (entity.revokedByClientId === null) throw new Error('unexpected value in devices.revoked_by_client_id');
  return { reason, by: { via, clientId: entity.revokedByClientId } };
}
