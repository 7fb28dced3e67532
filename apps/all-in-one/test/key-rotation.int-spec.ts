import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JSONWebKeySet, SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { DataSource } from 'typeorm';
import type { Clock } from '@ciba/domain';
import { TypeOrmSigningKeyRepository, createDataSource } from '@ciba/persistence';
import { KEY_ACTIVATION_DELAY_MS, KeyRotationScheduler, ProviderMetrics } from '@ciba/platform';
import { type TestDatabase, createTestDatabase, parsePrometheusText, sumSamples } from '@ciba/testing';
import { KeyEncryptor, KeyStore, type RotationSchedule } from '@ciba/tokens';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const DAY_S = 86_400;

/** A clock the test moves by hand, shared by every replica of a test. */
class HandClock implements Clock {
  private ms = Date.parse('2030-01-01T00:00:00Z');
  now(): Date {
    return new Date(this.ms);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/**
 * Scheduled rotation of the provider's signing keys (OpenID Connect Core §10.1.1; keys named by
 * their RFC 7517 `kid`), against the real PostgreSQL: the due time comes from the stored keys, the
 * advisory lock makes replicas rotate once, the previous key stays published until its tokens have
 * expired.
 */
describe('signing-key rotation on schedule (OpenID Connect Core §10.1.1, RFC 7517)', () => {
  describe('key stores of several replicas on one PostgreSQL', () => {
    const schedule: RotationSchedule = { rotateAfterMs: 90 * DAY_S * 1000, maxTokenLifetimeSeconds: 660 };
    const encryptor = new KeyEncryptor(Buffer.alloc(32, 3).toString('base64'));
    let db: TestDatabase;
    let secondPool: DataSource;
    beforeAll(async () => {
      db = await createTestDatabase();
      secondPool = createDataSource({ url: db.url, poolSize: 4 });
      await secondPool.initialize();
    });
    afterAll(async () => {
      await secondPool.destroy();
      await db.drop();
    });

    /** A fresh key table and a replica factory on it: each replica has its own key store (and `pool`). */
    async function cluster() {
      await db.dataSource.query('DELETE FROM signing_keys');
      const clock = new HandClock();
      const replica = (pool: DataSource = db.dataSource) =>
        new KeyStore({ repository: new TypeOrmSigningKeyRepository(pool), encryptor, clock, algs: ['ES256', 'RS256'], activationDelayMs: 120_000 });
      const stored = () => new TypeOrmSigningKeyRepository(db.dataSource).listPublished(new Date(0));
      return { clock, replica, stored };
    }

    it('OIDC Core §10.1.1 rotation is due from the stored keys’ creation time: nothing before rotateAfterMs, then a new key per algorithm', async () => {
      const { clock, replica, stored } = await cluster();
      const store = replica();
      await store.init();
      clock.advance(90 * DAY_S - 1);
      await expect(store.rotateIfDue(schedule)).resolves.toEqual([]);
      expect(await stored()).toHaveLength(2);
      clock.advance(1);
      expect((await store.rotateIfDue(schedule)).map((key) => key.alg)).toEqual(['ES256', 'RS256']);
      const keys = await stored();
      expect(keys.filter((key) => key.retiredAt === null).map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(keys.filter((key) => key.retiredAt !== null)).toHaveLength(2);
    });

    it('OIDC Core §10.1.1 two replicas (two connection pools) due at the same time rotate exactly once, under the advisory lock', async () => {
      const { clock, replica, stored } = await cluster();
      const [a, b] = [replica(db.dataSource), replica(secondPool)];
      await a.init();
      await b.init();
      clock.advance(90 * DAY_S);
      const [fromA, fromB] = await Promise.all([a.rotateIfDue(schedule), b.rotateIfDue(schedule)]);
      expect([fromA.length, fromB.length].sort()).toEqual([0, 2]);
      expect(await stored()).toHaveLength(4);
      // The loser reloaded after the lock: both know the same new keys.
      await b.refresh();
      expect(a.jwks().keys.map((key) => key.kid).sort()).toEqual(b.jwks().keys.map((key) => key.kid).sort());
    });

    it('OIDC Core §10.1.1 a restarted replica (a new key store on the same table) does not rotate again early', async () => {
      const { clock, replica, stored } = await cluster();
      await replica().init();
      clock.advance(90 * DAY_S);
      expect(await replica().rotateIfDue(schedule)).toHaveLength(2);
      clock.advance(89 * DAY_S);
      const restarted = replica();
      await restarted.init();
      await expect(restarted.rotateIfDue(schedule)).resolves.toEqual([]);
      expect(await stored()).toHaveLength(4);
      clock.advance(DAY_S);
      expect(await replica().rotateIfDue(schedule)).toHaveLength(2);
    });

    it('RFC 7517 §4.5 the previous kid still verifies its tokens and stays in the JWKS until its unpublish time, then is gone; the new kid signs after activation', async () => {
      const { clock, replica } = await cluster();
      const rotating = replica();
      const other = replica(secondPool);
      await rotating.init();
      await other.init();
      const oldKid = other.signingKey().kid;
      const sign = (store: KeyStore) => {
        const { kid, alg, key } = store.signingKey();
        return new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg, kid }).setIssuedAt(clock.now()).setExpirationTime(new Date(clock.now().getTime() + 600_000)).sign(key);
      };
      clock.advance(90 * DAY_S);
      const oldToken = await sign(other);
      const [rotated] = await rotating.rotateIfDue(schedule);
      const rotatedAt = clock.now().getTime();
      await other.refresh();
      expect(other.jwks().keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
      // Published before use: until the activation delay has passed the previous key signs.
      expect(decodeProtectedHeader(await sign(other)).kid).toBe(oldKid);
      clock.advance(120);
      await other.refresh();
      const newToken = await sign(other);
      expect(decodeProtectedHeader(newToken).kid).toBe(rotated.kid);

      for (const store of [rotating, other]) {
        await expect(jwtVerify(oldToken, store.verificationKeySet(), { currentDate: clock.now() })).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
        await expect(jwtVerify(newToken, store.verificationKeySet(), { currentDate: clock.now() })).resolves.toMatchObject({ protectedHeader: { kid: rotated.kid } });
      }
      // unpublish = rotation + activation delay (120 s) + the longest token lifetime (660 s).
      clock.advance((rotatedAt + 780_000 - clock.now().getTime()) / 1000 - 1);
      await other.refresh();
      expect(other.jwks().keys.map((key) => key.kid)).toContain(oldKid);
      clock.advance(1);
      await other.refresh();
      expect(other.jwks().keys.map((key) => key.kid)).not.toContain(oldKid);
      expect(other.jwks().keys.map((key) => key.kid)).toContain(rotated.kid);
      await expect(jwtVerify(oldToken, other.verificationKeySet(), { currentDate: new Date(rotatedAt) })).rejects.toThrow();
    });
  });

  describe('the all-in-one provider with CIBA_SIGNING_KEY_ROTATION_DAYS=1', () => {
    const TTL = 300;
    let op: TestProvider;
    const logLines: string[] = [];
    beforeAll(async () => {
      op = await startTestProvider(
        { CIBA_SIGNING_KEY_ROTATION_DAYS: '1', CIBA_ACCESS_TOKEN_TTL: String(TTL), CIBA_ID_TOKEN_TTL: String(TTL), CIBA_LOG_LEVEL: 'info' },
        { logDestination: { write: (line: string) => void logLines.push(line) } },
      );
    });
    afterAll(async () => {
      await op.close();
    });

    async function accessToken(): Promise<string> {
      const message = uniqueMessage('rotation');
      const { authReqId } = await op.authorize({ scope: 'openid profile', binding_message: message }, CLIENTS.basic);
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      const res = await op.token(authReqId, CLIENTS.basic);
      expect(res.status).toBe(200);
      return String(res.body['access_token']);
    }
    const published = async () => ((await (await fetch(`${op.url}/jwks`)).json()) as JSONWebKeySet).keys.map((key) => key.kid);
    const userinfo = async (token: string) => (await fetch(`${op.url}/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status;
    const rotations = async () => sumSamples(parsePrometheusText(await op.app.get(ProviderMetrics).scrape()), 'ciba_signing_key_rotations_total');

    it('OIDC Core §10.1.1 the token service rotates once a day, publishes before signing, and unpublishes the previous key when its tokens have expired', async () => {
      const scheduler = op.app.get(KeyRotationScheduler);
      const keyStore = op.app.get(KeyStore);
      const before = await published();
      expect(before).toHaveLength(2);
      await expect(scheduler.rotateIfDue()).resolves.toEqual([]);

      op.clock.advance(DAY_S - 100);
      const oldToken = await accessToken();
      const oldKid = decodeProtectedHeader(oldToken).kid;
      expect(before).toContain(oldKid);
      await expect(scheduler.rotateIfDue()).resolves.toEqual([]);

      op.clock.advance(100);
      const rotated = await scheduler.rotateIfDue();
      const rotatedAt = op.clock.now().getTime();
      expect(rotated.map((key) => key.alg)).toEqual(['ES256', 'RS256']);
      expect(await rotations()).toBe(1);
      await expect(scheduler.rotateIfDue()).resolves.toEqual([]);
      expect((await published()).sort()).toEqual([...before, ...rotated.map((key) => key.kid)].sort());

      // Published now, signing after the activation delay: relying parties see the kid first.
      expect(decodeProtectedHeader(await accessToken()).kid).toBe(oldKid);
      op.clock.advance(KEY_ACTIVATION_DELAY_MS / 1000);
      await keyStore.refresh(); // the periodic refresh every replica makes
      const newToken = await accessToken();
      const newKid = decodeProtectedHeader(newToken).kid;
      expect(newKid).toBe(rotated[0].kid);
      const jwks = createLocalJWKSet((await (await fetch(`${op.url}/jwks`)).json()) as JSONWebKeySet);
      await expect(jwtVerify(newToken, jwks, { currentDate: op.clock.now() })).resolves.toMatchObject({ protectedHeader: { kid: newKid } });
      // The previous key's tokens still work while they live.
      expect(await userinfo(oldToken)).toBe(200);
      expect(await userinfo(newToken)).toBe(200);

      // The previous key stays published: activation delay + the longest token lifetime + one key refresh period.
      const unpublishAt = rotatedAt + KEY_ACTIVATION_DELAY_MS + (TTL + 60) * 1000;
      op.clock.advance((unpublishAt - op.clock.now().getTime()) / 1000 - 1);
      expect(await published()).toContain(oldKid);
      op.clock.advance(1);
      expect(await published()).not.toContain(oldKid);
      expect(await published()).toContain(newKid);
      expect(await rotations()).toBe(1);
    });

    it('OIDC Core §10.1.1 the rotation is logged by kid, and no private key material of any key reaches the log', async () => {
      const entries = logLines.map((line) => JSON.parse(line) as { msg?: string; kid?: string; alg?: string });
      const rotatedKids = (await new TypeOrmSigningKeyRepository(op.db.dataSource).listPublished(new Date(0))).filter((key) => key.retiredAt === null).map((key) => key.kid);
      expect(entries.filter((entry) => entry.msg?.startsWith('signing key rotated on schedule')).map((entry) => entry.kid).sort()).toEqual(rotatedKids.sort());
      const encryptor = new KeyEncryptor(op.config.keys.encryptionKey);
      const log = logLines.join('');
      for (const key of await new TypeOrmSigningKeyRepository(op.db.dataSource).listPublished(new Date(0))) {
        const privateJwk = JSON.parse(encryptor.decrypt(key.encryptedPrivateJwk, key.kid)) as Record<string, string>;
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) if (privateJwk[member]) expect(log).not.toContain(privateJwk[member]);
        expect(log).not.toContain(key.encryptedPrivateJwk);
      }
    });

    it('OIDC Core §10.1.1 with CIBA_SIGNING_KEY_ROTATION_DAYS=0 nothing rotates on schedule, however old the keys', async () => {
      const off = new KeyRotationScheduler(op.app.get(KeyStore), { rotateAfterMs: null, maxTokenLifetimeSeconds: 0, checkIntervalMs: 60_000 }, op.clock, op.app.get(ProviderMetrics));
      op.clock.advance(3650 * DAY_S);
      await expect(off.rotateIfDue()).resolves.toEqual([]);
      expect(await rotations()).toBe(1);
    });
  });
});
