import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UserCodeLimits } from '@ciba/domain';
import { PostgresUserCodeAttempts, TypeOrmUserCodeStore, TypeOrmUserRepository, createDataSource, createScratchDatabase } from '../src/index.js';
import type { ScratchDatabase } from '../src/index.js';

const LIMITS: UserCodeLimits = { attemptLimit: 3, windowMs: 60_000, lockMs: 600_000 };
const T0 = new Date('2030-01-01T00:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

let db: ScratchDatabase;
let attempts: PostgresUserCodeAttempts;

beforeAll(async () => {
  db = await createScratchDatabase();
  attempts = new PostgresUserCodeAttempts(db.dataSource);
});
afterAll(async () => {
  await db.drop();
});

describe('TypeOrmUserCodeStore', () => {
  it('§7.1 keeps a user code hash beside the user, found by the same hints as bc-authorize, and never for a hint naming nobody', async () => {
    await new TypeOrmUserRepository(db.dataSource).upsert({
      sub: 'carol',
      name: null,
      email: 'Carol@example.com',
      emailVerified: true,
      phoneNumber: '+1 555 555 0199',
      phoneNumberVerified: true,
      channelPreference: null,
    });
    const store = new TypeOrmUserCodeStore(db.dataSource);
    expect(await store.findHolder({ sub: 'carol' })).toEqual({ sub: 'carol', userCodeHash: null });
    expect(await store.setUserCodeHash('carol', 'scrypt$hash')).toBe(true);
    expect(await store.findHolder({ loginHint: 'carol@EXAMPLE.com' })).toEqual({ sub: 'carol', userCodeHash: 'scrypt$hash' });
    expect(await store.findHolder({ loginHint: '+15555550199' })).toEqual({ sub: 'carol', userCodeHash: 'scrypt$hash' });
    expect(await store.findHolder({ loginHint: 'nobody' })).toBeNull();
    expect(await store.findHolder({ loginHint: '   ' })).toBeNull();
    expect(await store.setUserCodeHash('nobody', 'scrypt$hash')).toBe(false);
    expect(await store.setUserCodeHash('carol', null)).toBe(true);
    expect(await store.findHolder({ sub: 'carol' })).toEqual({ sub: 'carol', userCodeHash: null });
  });
});

describe('PostgresUserCodeAttempts', () => {
  it('§7.1 allows the limit of attempts in a window, locks on the next, stays locked for the lock time, then opens a fresh window', async () => {
    const key = 'key-lock';
    for (let i = 0; i < LIMITS.attemptLimit; i++) expect(await attempts.claim(key, later(i), LIMITS)).toBe(true);
    expect(await attempts.claim(key, later(10), LIMITS)).toBe(false);
    // Locked from the refused attempt on: past the window, still locked.
    expect(await attempts.claim(key, later(LIMITS.windowMs + 1), LIMITS)).toBe(false);
    expect(await attempts.claim(key, later(10 + LIMITS.lockMs - 1), LIMITS)).toBe(false);
    expect(await attempts.claim(key, later(10 + LIMITS.lockMs), LIMITS)).toBe(true);
  });

  it('a matched code (released) does not count; the window passing forgets earlier attempts', async () => {
    const key = 'key-release';
    for (let i = 0; i < 10; i++) {
      expect(await attempts.claim(key, later(i), LIMITS)).toBe(true);
      await attempts.release(key);
    }
    for (let i = 0; i < LIMITS.attemptLimit; i++) expect(await attempts.claim(key, later(100 + i), LIMITS)).toBe(true);
    expect(await attempts.claim(key, later(LIMITS.windowMs + 200), LIMITS)).toBe(true);
  });

  it('a lock is per key: another key is not affected', async () => {
    for (let i = 0; i <= LIMITS.attemptLimit; i++) await attempts.claim('key-a', later(i), LIMITS);
    expect(await attempts.claim('key-a', later(50), LIMITS)).toBe(false);
    expect(await attempts.claim('key-b', later(50), LIMITS)).toBe(true);
  });

  it('concurrent claims from two connection pools (two replicas) are all counted: exactly the limit is allowed', async () => {
    const other = createDataSource({ url: db.url, poolSize: 10 });
    await other.initialize();
    try {
      const replicas = [attempts, new PostgresUserCodeAttempts(other)];
      const limits = { ...LIMITS, attemptLimit: 5 };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => replicas[i % 2].claim('key-race', later(i % 3), limits)));
      expect(results.filter(Boolean)).toHaveLength(5);
    } finally {
      await other.destroy();
    }
  });

  it('drops expired rows of other keys as claims are made', async () => {
    await attempts.claim('key-old', later(0), LIMITS);
    await attempts.claim('key-new', later(LIMITS.windowMs * 100), LIMITS);
    const rows = await db.dataSource.query(`SELECT key_hash FROM user_code_attempts WHERE key_hash = 'key-old'`);
    expect(rows).toEqual([]);
  });
});
