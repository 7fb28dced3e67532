import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DeviceTarget } from '@ciba/domain';
import {
  TypeOrmDeviceRepository,
  TypeOrmEnrolmentTokenRepository,
  TypeOrmUserRepository,
  createScratchDatabase,
  type DeviceTargetSealer,
  type ScratchDatabase,
} from '../src/index.js';
import { at } from './fixtures.js';

/** A reversible test sealer: enough to see that the column never holds the plaintext. */
const sealer: DeviceTargetSealer = {
  seal: (plaintext, deviceId) => Buffer.from(`${deviceId}|${plaintext}`).toString('base64url'),
  open: (sealed, deviceId) => {
    const text = Buffer.from(sealed, 'base64url').toString();
    if (!text.startsWith(`${deviceId}|`)) throw new Error('sealed for another device');
    return text.slice(deviceId.length + 1);
  },
  fingerprint: (plaintext) => createHash('sha256').update(`k|${plaintext}`).digest('base64url'),
};

const webPush = (n: number): DeviceTarget => ({
  kind: 'web-push',
  subscription: { endpoint: `https://push.example/${n}`, keys: { p256dh: `p256dh-${n}`, auth: `auth-${n}` } },
});

describe('user channels persistence', () => {
  let db: ScratchDatabase;
  let devices: TypeOrmDeviceRepository;

  beforeAll(async () => {
    db = await createScratchDatabase();
    devices = new TypeOrmDeviceRepository(db.dataSource, sealer);
    const users = new TypeOrmUserRepository(db.dataSource);
    for (const sub of ['alice', 'bob']) {
      await users.upsert({ sub, name: null, email: null, emailVerified: false, phoneNumber: null, phoneNumberVerified: false, channelPreference: sub === 'alice' ? ['sms', 'email'] : null });
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  it("stores and reads back a user's channel preference", async () => {
    const users = new TypeOrmUserRepository(db.dataSource);
    expect((await users.findBySub('alice'))?.channelPreference).toEqual(['sms', 'email']);
    expect((await users.findBySub('bob'))?.channelPreference).toBeNull();
  });

  describe('devices', () => {
    it('keeps the target sealed at rest and lists only the owner\'s active devices', async () => {
      const id = randomUUID();
      const device = await devices.register({ id, subject: 'alice', label: 'Phone', target: webPush(1) }, at(0));
      expect(device).toMatchObject({ id, subject: 'alice', label: 'Phone', target: webPush(1), revokedAt: null });
      const [row] = await db.dataSource.query(`SELECT encrypted_target, target_fingerprint FROM devices WHERE id = $1`, [id]);
      expect(String(row.encrypted_target)).not.toContain('push.example');
      expect((await devices.listActive('alice')).map((d) => d.id)).toContain(id);
      expect((await devices.listActive('bob')).map((d) => d.id)).not.toContain(id);
    });

    it('registering an active target again moves it to the new registration (one device per target)', async () => {
      const first = await devices.register({ id: randomUUID(), subject: 'alice', label: 'old', target: webPush(2) }, at(0));
      const second = await devices.register({ id: randomUUID(), subject: 'bob', label: 'new', target: webPush(2) }, at(1));
      expect((await devices.listActive('alice')).map((d) => d.id)).not.toContain(first.id);
      expect((await devices.listActive('bob')).map((d) => d.id)).toContain(second.id);
    });

    it('revokes only the owner\'s device, once', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'alice', label: null, target: { kind: 'fcm', registrationToken: 'fcm-token-3' } }, at(0));
      expect(await devices.revoke('bob', device.id, 'revoked', at(1))).toBe(false);
      expect(await devices.revoke('alice', device.id, 'revoked', at(1))).toBe(true);
      expect(await devices.revoke('alice', device.id, 'revoked', at(2))).toBe(false);
      expect((await devices.listActive('alice')).map((d) => d.id)).not.toContain(device.id);
    });

    it('records when a device was last used', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'bob', label: null, target: webPush(4) }, at(0));
      await devices.markUsed(device.id, at(5));
      expect((await devices.listActive('bob')).find((d) => d.id === device.id)?.lastUsedAt).toEqual(at(5));
    });
  });

  describe('enrolment tokens', () => {
    it('are single use and expire; peeking does not use them', async () => {
      const tokens = new TypeOrmEnrolmentTokenRepository(db.dataSource);
      await tokens.save({ tokenHash: 'h1', subject: 'alice', sentVia: 'email', expiresAt: at(60) });
      expect(await tokens.peek('h1', at(1))).toBe('alice');
      const results = await Promise.all([tokens.consume('h1', at(2)), tokens.consume('h1', at(2))]);
      expect(results.filter((r) => r === 'alice')).toHaveLength(1);
      expect(await tokens.peek('h1', at(3))).toBeNull();

      await tokens.save({ tokenHash: 'h2', subject: 'alice', sentVia: 'sms', expiresAt: at(60) });
      expect(await tokens.consume('h2', at(60))).toBeNull();
    });
  });
});
