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
      const device = await devices.register({ id, subject: 'alice', label: 'Phone', target: webPush(1), expiresAt: at(3600) }, at(0));
      expect(device).toMatchObject({ id, subject: 'alice', label: 'Phone', target: webPush(1), revokedAt: null });
      const [row] = await db.dataSource.query(`SELECT encrypted_target, target_fingerprint FROM devices WHERE id = $1`, [id]);
      expect(String(row.encrypted_target)).not.toContain('push.example');
      expect((await devices.listActive('alice', at(10))).map((d) => d.id)).toContain(id);
      expect((await devices.listActive('bob', at(10))).map((d) => d.id)).not.toContain(id);
    });

    it('registering an active target again moves it to the new registration (one device per target)', async () => {
      const first = await devices.register({ id: randomUUID(), subject: 'alice', label: 'old', target: webPush(2), expiresAt: at(3600) }, at(0));
      const second = await devices.register({ id: randomUUID(), subject: 'bob', label: 'new', target: webPush(2), expiresAt: at(3600) }, at(1));
      expect((await devices.listActive('alice', at(10))).map((d) => d.id)).not.toContain(first.id);
      expect((await devices.listActive('bob', at(10))).map((d) => d.id)).toContain(second.id);
    });

    it('revokes only the owner\'s device, once', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'alice', label: null, target: { kind: 'fcm', registrationToken: 'fcm-token-3' }, expiresAt: at(3600) }, at(0));
      expect(await devices.revoke('bob', device.id, 'revoked', at(1))).toBeNull();
      expect(await devices.revoke('alice', device.id, 'revoked', at(1), { via: 'admin' })).toMatchObject({ id: device.id, revokedAt: at(1), revocation: { reason: 'revoked', by: { via: 'admin' } } });
      expect(await devices.revoke('alice', device.id, 'revoked', at(2))).toBeNull();
      expect((await devices.listActive('alice', at(10))).map((d) => d.id)).not.toContain(device.id);
    });

    it('records the registering client; a client lists and revokes only the registrations it made', async () => {
      const byConsole = await devices.register({ id: randomUUID(), subject: 'alice', label: null, target: webPush(5), clientId: 'console', expiresAt: at(3600) }, at(0));
      const byLink = await devices.register({ id: randomUUID(), subject: 'alice', label: null, target: webPush(6), expiresAt: at(3600) }, at(0));
      expect(byConsole.clientId).toBe('console');
      expect(byLink.clientId).toBeNull();
      const listed = (await devices.listActive('alice', at(10), 'console')).map((d) => d.id);
      expect(listed).toContain(byConsole.id);
      expect(listed).not.toContain(byLink.id);
      expect(await devices.revoke('alice', byLink.id, 'revoked', at(1), { via: 'client', clientId: 'console' })).toBeNull();
      expect(await devices.revoke('alice', byConsole.id, 'revoked', at(1), { via: 'client', clientId: 'other' })).toBeNull();
      expect(await devices.revoke('alice', byConsole.id, 'revoked', at(1), { via: 'client', clientId: 'console' })).toMatchObject({
        revocation: { reason: 'revoked', by: { via: 'client', clientId: 'console' } },
      });
    });

    it('a registration past its lifetime is neither listed nor found by its removal link', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'bob', label: null, target: webPush(7), expiresAt: at(100) }, at(0));
      await devices.prepareRemovalLink(device.id, 'email', 'expiring-link', device.expiresAt, at(0));
      expect((await devices.listActive('bob', at(99))).map((d) => d.id)).toContain(device.id);
      expect((await devices.listActive('bob', at(100))).map((d) => d.id)).not.toContain(device.id);
      expect(await devices.findByRemovalLink('expiring-link', at(100))).toBeNull();
      expect(await devices.revokeWithRemovalLink('expiring-link', at(100))).toBeNull();
    });

    it('removal links: one per device and channel, replaced until sent, single use under concurrency', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'alice', label: null, target: webPush(8), expiresAt: at(3600) }, at(0));
      expect(await devices.prepareRemovalLink(device.id, 'email', 'first', device.expiresAt, at(0))).toBe(true);
      // Prepared but never sent (a crash): a redelivery replaces it, so one link stays live.
      expect(await devices.prepareRemovalLink(device.id, 'email', 'second', device.expiresAt, at(1))).toBe(true);
      expect(await devices.findByRemovalLink('first', at(2))).toBeNull();
      await devices.markRemovalLinkSent('second', at(2));
      expect(await devices.prepareRemovalLink(device.id, 'email', 'third', device.expiresAt, at(3))).toBe(false);
      expect(await devices.prepareRemovalLink(device.id, 'sms', 'by-sms', device.expiresAt, at(3))).toBe(true);
      const [row] = await db.dataSource.query(`SELECT count(*)::int AS n FROM device_removal_links WHERE token_hash = 'second' AND sent_via = 'email'`);
      expect(row.n).toBe(1);

      expect((await devices.findByRemovalLink('second', at(4)))?.id).toBe(device.id);
      const results = await Promise.all([devices.revokeWithRemovalLink('second', at(5)), devices.revokeWithRemovalLink('second', at(5))]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(results.find((r) => r !== null)).toMatchObject({ id: device.id, revocation: { reason: 'revoked', by: { via: 'removal_link' } } });
      expect(await devices.revokeWithRemovalLink('by-sms', at(6))).toBeNull();
    });

    it('tracks what the sweeper must republish: unannounced registrations and unpublished revocations', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'bob', label: null, target: webPush(9), expiresAt: at(3600) }, at(0));
      expect((await devices.findUnannounced(at(1), 100)).map((d) => d.id)).toContain(device.id);
      await devices.markAnnouncementTaken(device.id, at(1));
      expect((await devices.findUnannounced(at(2), 100)).map((d) => d.id)).not.toContain(device.id);

      await devices.revoke('bob', device.id, 'gone', at(3));
      const [pending] = (await devices.findUnpublishedRevocations(at(4), 100)).filter((d) => d.id === device.id);
      expect(pending?.revocation).toEqual({ reason: 'gone', by: null });
      await devices.markRevocationPublished(device.id);
      expect((await devices.findUnpublishedRevocations(at(4), 100)).map((d) => d.id)).not.toContain(device.id);
    });

    it('records when a device was last used', async () => {
      const device = await devices.register({ id: randomUUID(), subject: 'bob', label: null, target: webPush(4), expiresAt: at(3600) }, at(0));
      await devices.markUsed(device.id, at(5));
      expect((await devices.listActive('bob', at(10))).find((d) => d.id === device.id)?.lastUsedAt).toEqual(at(5));
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
