import { describe, expect, it } from '@jest/globals';
import { SignJWT, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose';
import { SIGNING_ALGS, type SigningAlg } from '@ciba/protocol';
import { InMemorySigningKeyRepository, TEST_ENCRYPTION_KEY, TestClock } from '../test/in-memory-signing-key.repository.js';
import { KeyEncryptor } from './key-encryption.js';
import { KeyStore } from './key-store.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function setup(alg: SigningAlg = 'ES256') {
  const repository = new InMemorySigningKeyRepository();
  const clock = new TestClock();
  const encryptor = new KeyEncryptor(TEST_ENCRYPTION_KEY);
  const newStore = (): KeyStore => new KeyStore({ repository, encryptor, clock, algs: [alg] });
  return { repository, clock, encryptor, store: newStore(), newStore };
}

async function signWith(store: KeyStore): Promise<string> {
  const { kid, alg, key } = store.signingKey();
  return new SignJWT({ sub: 'x' }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('5m').sign(key);
}

describe('KeyStore', () => {
  it('generates a first key whose kid is its RFC 7638 thumbprint, stored encrypted', async () => {
    const { store, repository, encryptor } = setup();
    await store.init();

    expect(repository.records).toHaveLength(1);
    const record = repository.records[0];
    expect(record.kid).toBe(await calculateJwkThumbprint(record.publicJwk));
    expect(store.signingKey().kid).toBe(record.kid);
    expect(record.encryptedPrivateJwk).toMatch(/^v1\./);
    const privateJwk = JSON.parse(encryptor.decrypt(record.encryptedPrivateJwk, record.kid)) as JWK;
    expect(privateJwk.d).toEqual(expect.any(String));
    for (const member of PRIVATE_MEMBERS) expect(record.publicJwk).not.toHaveProperty(member);
  });

  it('publishes public JWKs only, with kid, alg and use', async () => {
    const { store } = setup('RS256');
    await store.init();
    const { keys } = store.jwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'RSA', kid: store.signingKey().kid, alg: 'RS256', use: 'sig' });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
  });

  it('generates exactly one key when two processes init concurrently', async () => {
    const { newStore, repository } = setup();
    const [a, b] = [newStore(), newStore()];
    await Promise.all([a.init(), b.init()]);
    expect(repository.records).toHaveLength(1);
    expect(a.signingKey().kid).toBe(b.signingKey().kid);
  });

  it('reuses the active key on a later init', async () => {
    const { newStore, repository } = setup();
    await newStore().init();
    await newStore().init();
    expect(repository.records).toHaveLength(1);
  });

  it('generates a key for a newly configured alg next to the existing one', async () => {
    const { repository, clock, encryptor } = setup();
    await new KeyStore({ repository, encryptor, clock, algs: ['ES256'] }).init();
    const eddsa = new KeyStore({ repository, encryptor, clock, algs: ['EdDSA'] });
    await eddsa.init();
    expect(eddsa.signingKey().alg).toBe('EdDSA');
    expect(eddsa.jwks().keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA']);
  });

  it('throws before init', () => {
    expect(() => setup().store.signingKey()).toThrow(/init/);
  });

  it('rotation signs with the new kid and keeps the old key published until unpublishAfter', async () => {
    const { store, clock, repository } = setup();
    await store.init();
    const oldKid = store.signingKey().kid;
    const oldToken = await signWith(store);

    await store.rotate(600);
    const newKid = store.signingKey().kid;
    expect(newKid).not.toBe(oldKid);
    expect(store.jwks().keys.map((k) => k.kid).sort()).toEqual([newKid, oldKid].sort());
    const old = repository.records.find((r) => r.kid === oldKid)!;
    expect(old.retiredAt).toEqual(clock.now());
    expect(old.unpublishAfter).toEqual(new Date(clock.now().getTime() + 600_000));

    const newToken = await signWith(store);
    const keySet = store.verificationKeySet();
    await expect(jwtVerify(newToken, keySet, { currentDate: clock.now() })).resolves.toMatchObject({ protectedHeader: { kid: newKid } });
    await expect(jwtVerify(oldToken, keySet, { currentDate: clock.now() })).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });

    clock.advance(599);
    expect(store.jwks().keys).toHaveLength(2);
    clock.advance(1);
    expect(store.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(jwtVerify(oldToken, store.verificationKeySet(), { currentDate: new Date(0) })).rejects.toThrow();
    await store.refresh();
    expect(store.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
  });

  it('publish before use: after rotation the new key is published at once but signs only after the activation delay', async () => {
    const { repository, clock } = setup();
    const store = new KeyStore({ repository, clock, algs: ['ES256'], encryptor: new KeyEncryptor(Buffer.alloc(32, 1).toString('base64')), activationDelayMs: 120_000 });
    await store.init();
    const oldKid = store.signingKey().kid;
    const [rotated] = await store.rotate(600);
    expect(rotated.activatesAt).toEqual(new Date(clock.now().getTime() + 120_000));
    expect(store.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    expect(store.signingKey().kid).toBe(oldKid);
    // The old key may sign for 120 s more, so it stays published 120 s + the token lifetime.
    expect(repository.records.find((r) => r.kid === oldKid)!.unpublishAfter).toEqual(new Date(clock.now().getTime() + 720_000));
    clock.advance(119);
    await store.refresh();
    expect(store.signingKey().kid).toBe(oldKid);
    clock.advance(1);
    await store.refresh();
    expect(store.signingKey().kid).toBe(rotated.kid);
  });

  it('refresh() picks up a rotation made by another process', async () => {
    const { newStore } = setup();
    const a = newStore();
    const b = newStore();
    await a.init();
    await b.init();
    await b.rotate(300);
    expect(a.signingKey().kid).not.toBe(b.signingKey().kid);
    await a.refresh();
    expect(a.signingKey().kid).toBe(b.signingKey().kid);
    expect(a.jwks().keys).toHaveLength(2);
  });

  it('reloads once when a token names an unknown kid (rotated elsewhere)', async () => {
    const { newStore, clock } = setup();
    const a = newStore();
    const b = newStore();
    await a.init();
    await b.init();
    clock.advance(60);
    await b.rotate(300);
    const token = await signWith(b);
    await expect(jwtVerify(token, a.verificationKeySet(), { currentDate: clock.now() })).resolves.toMatchObject({
      protectedHeader: { kid: b.signingKey().kid },
    });
  });

  it('fails clearly when the encryption key is wrong', async () => {
    const { repository, clock, store } = setup();
    await store.init();
    const other = new KeyStore({ repository, clock, algs: ['ES256'], encryptor: new KeyEncryptor(Buffer.alloc(32, 9).toString('base64')) });
    await expect(other.refresh()).rejects.toThrow(/wrong encryption key/);
  });

  it('rejects a negative token lifetime on rotate', async () => {
    const { store } = setup();
    await store.init();
    await expect(store.rotate(-1)).rejects.toThrow(RangeError);
  });

  describe('scheduled rotation (OpenID Connect Core §10.1.1)', () => {
    const DAY = 86_400;
    const schedule = { rotateAfterMs: 90 * DAY * 1000, maxTokenLifetimeSeconds: 660 };
    const scheduled = (algs: SigningAlg[] = ['ES256']) => {
      const { repository, clock, encryptor } = setup();
      const newStore = (): KeyStore => new KeyStore({ repository, encryptor, clock, algs, activationDelayMs: 120_000 });
      return { repository, clock, newStore };
    };

    it('OIDC Core §10.1.1 rotates nothing before the signing key is rotateAfterMs old, and a new key for every alg once it is', async () => {
      const { repository, clock, newStore } = scheduled(['ES256', 'RS256']);
      const store = newStore();
      await store.init();
      const first = repository.records.map((r) => r.kid);
      expect(store.rotationDueAt(schedule.rotateAfterMs)).toEqual(new Date(clock.now().getTime() + schedule.rotateAfterMs));
      clock.advance(90 * DAY - 1);
      await expect(store.rotateIfDue(schedule)).resolves.toEqual([]);
      expect(repository.records).toHaveLength(2);
      clock.advance(1);
      const rotated = await store.rotateIfDue(schedule);
      expect(rotated.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
      for (const kid of first) {
        expect(repository.records.find((r) => r.kid === kid)).toMatchObject({ retiredAt: clock.now(), unpublishAfter: new Date(clock.now().getTime() + 120_000 + 660_000) });
      }
      expect(store.rotationDueAt(schedule.rotateAfterMs)).toEqual(new Date(clock.now().getTime() + schedule.rotateAfterMs));
    });

    it('OIDC Core §10.1.1 counts the age of the oldest signing key when an algorithm was enabled later', async () => {
      const { repository, clock, encryptor } = setup();
      await new KeyStore({ repository, encryptor, clock, algs: ['ES256'] }).init();
      clock.advance(30 * DAY);
      const store = new KeyStore({ repository, encryptor, clock, algs: ['ES256', 'RS256'] });
      await store.init();
      clock.advance(60 * DAY);
      expect(await store.rotateIfDue(schedule)).toHaveLength(2);
    });

    it('OIDC Core §10.1.1 a restarted process (a new KeyStore on the same keys) neither rotates again early nor forgets a due rotation', async () => {
      const { repository, clock, newStore } = scheduled();
      const before = newStore();
      await before.init();
      clock.advance(90 * DAY);
      const [rotated] = await before.rotateIfDue(schedule);
      const rotatedAt = clock.now();

      const restarted = newStore();
      await restarted.init();
      expect(restarted.rotationDueAt(schedule.rotateAfterMs)).toEqual(new Date(rotatedAt.getTime() + schedule.rotateAfterMs));
      clock.advance(90 * DAY - 1);
      await expect(restarted.rotateIfDue(schedule)).resolves.toEqual([]);
      expect(repository.records).toHaveLength(2);

      clock.advance(30 * DAY); // down past its due time, started again
      const late = newStore();
      await late.init();
      const [next] = await late.rotateIfDue(schedule);
      expect(next?.kid).not.toBe(rotated?.kid);
      await expect(late.rotateIfDue(schedule)).resolves.toEqual([]);
      expect(repository.records).toHaveLength(3);
    });

    it('OIDC Core §10.1.1 two processes due at the same time rotate once', async () => {
      const { repository, clock, newStore } = scheduled();
      const [a, b] = [newStore(), newStore()];
      await Promise.all([a.init(), b.init()]);
      clock.advance(90 * DAY);
      const [fromA, fromB] = await Promise.all([a.rotateIfDue(schedule), b.rotateIfDue(schedule)]);
      expect(fromA.length + fromB.length).toBe(1);
      expect(repository.records).toHaveLength(2);
      expect(repository.records.filter((r) => r.retiredAt === null)).toHaveLength(1);
    });

    it('refuses a schedule that would replace a key before its activation delay has passed, or a negative lifetime', async () => {
      const { newStore } = scheduled();
      const store = newStore();
      await store.init();
      await expect(store.rotateIfDue({ rotateAfterMs: 120_000, maxTokenLifetimeSeconds: 0 })).rejects.toThrow(RangeError);
      await expect(store.rotateIfDue({ rotateAfterMs: Number.NaN, maxTokenLifetimeSeconds: 0 })).rejects.toThrow(RangeError);
      await expect(store.rotateIfDue({ rotateAfterMs: schedule.rotateAfterMs, maxTokenLifetimeSeconds: -1 })).rejects.toThrow(RangeError);
    });
  });

  describe('several algorithms', () => {
    const several = () => {
      const { repository, clock, encryptor } = setup();
      return { repository, clock, store: new KeyStore({ repository, encryptor, clock, algs: ['ES256', 'RS256'] }) };
    };

    it('keeps an active key per enabled algorithm; the first is the default', async () => {
      const { store, repository } = several();
      await store.init();
      expect(repository.records.map((r) => r.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(store.defaultAlg).toBe('ES256');
      expect(store.signingKey().alg).toBe('ES256');
      expect(store.signingKey('RS256')).toMatchObject({ alg: 'RS256', kid: repository.records.find((r) => r.alg === 'RS256')!.kid });
      expect(() => store.signingKey('PS256')).toThrow(/no PS256 signing key: the enabled algorithms are ES256, RS256/);
      expect(store.jwks().keys.map((k) => k.kty).sort()).toEqual(['EC', 'RSA']);
    });

    it('verifies tokens signed by any published key, whatever its algorithm', async () => {
      const { store, clock } = several();
      await store.init();
      for (const alg of ['ES256', 'RS256'] as const) {
        const { kid, key } = store.signingKey(alg);
        const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('5m').sign(key);
        await expect(jwtVerify(token, store.verificationKeySet(), { currentDate: clock.now() })).resolves.toMatchObject({ protectedHeader: { alg, kid } });
      }
    });

    it('rotation renews every algorithm and retires every older key, including those of an algorithm no longer enabled', async () => {
      const { repository, clock, encryptor } = setup();
      await new KeyStore({ repository, encryptor, clock, algs: ['EdDSA'] }).init();
      const store = new KeyStore({ repository, encryptor, clock, algs: ['ES256', 'RS256'] });
      await store.init();
      const before = repository.records.map((r) => r.kid);
      const rotated = await store.rotate(600);
      expect(rotated.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
      expect(rotated.map((k) => k.kid)).toEqual([store.signingKey('ES256').kid, store.signingKey('RS256').kid]);
      for (const kid of before) expect(repository.records.find((r) => r.kid === kid)!.retiredAt).toEqual(clock.now());
      expect(repository.records.filter((r) => r.retiredAt === null).map((r) => r.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(store.jwks().keys).toHaveLength(5);
    });

    it('refuses no algorithm or one named twice', () => {
      const { repository, clock, encryptor } = setup();
      expect(() => new KeyStore({ repository, encryptor, clock, algs: [] })).toThrow(RangeError);
      expect(() => new KeyStore({ repository, encryptor, clock, algs: ['RS256', 'RS256'] })).toThrow(RangeError);
    });
  });

  it.each(SIGNING_ALGS)('%s keys have the expected shape and sign verifiable JWTs', async (alg) => {
    const { store, clock } = setup(alg);
    await store.init();
    const [jwk] = store.jwks().keys;
    switch (alg) {
      case 'ES256':
        expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
        break;
      case 'RS256':
      case 'PS256':
        expect(jwk).toMatchObject({ kty: 'RSA', e: 'AQAB' });
        expect(Buffer.from(jwk.n!, 'base64url')).toHaveLength(256);
        break;
      case 'EdDSA':
        expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
        break;
    }
    const token = await signWith(store);
    const { protectedHeader } = await jwtVerify(token, store.verificationKeySet(), { currentDate: clock.now() });
    expect(protectedHeader).toMatchObject({ alg, kid: store.signingKey().kid });
  });
});
