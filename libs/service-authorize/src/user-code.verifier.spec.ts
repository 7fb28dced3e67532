import { beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ProviderConfig } from '@ciba/config';
import type { UserCodeAttempts, UserCodeHolder, UserCodeLimits, UserCodeStore, UserHint } from '@ciba/domain';
import { OAuthError } from '@ciba/protocol';
import { SecretHasher, SecretHasherBusy } from '@ciba/tokens';
import { MAX_USER_CODE_LENGTH, UserCodeVerifier, attemptKey } from './user-code.verifier.js';

const LIMITS: UserCodeLimits = { attemptLimit: 3, windowMs: 60_000, lockMs: 600_000 };
const config = { userCode: LIMITS } as unknown as ProviderConfig;
const clock = { now: () => new Date('2030-01-01T00:00:00Z') };

/** Counts claims per key in memory with the same rule as PostgreSQL: the claim over the limit is refused. */
class CountingAttempts implements UserCodeAttempts {
  readonly counts = new Map<string, number>();
  readonly released: string[] = [];
  claim(key: string): Promise<boolean> {
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    return Promise.resolve(count <= LIMITS.attemptLimit);
  }
  release(key: string): Promise<void> {
    this.released.push(key);
    this.counts.set(key, (this.counts.get(key) ?? 1) - 1);
    return Promise.resolve();
  }
}

class Users implements UserCodeStore {
  constructor(private readonly holders: Record<string, UserCodeHolder>) {}
  findHolder(hint: UserHint): Promise<UserCodeHolder | null> {
    return Promise.resolve(this.holders['sub' in hint ? hint.sub : hint.loginHint] ?? null);
  }
  setUserCodeHash(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

async function errorOf(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OAuthError) return err;
    throw err;
  }
  throw new Error('expected an OAuthError');
}

describe('UserCodeVerifier', () => {
  let hasher: SecretHasher;
  let aliceHash: string;
  let attempts: CountingAttempts;
  let verifier: UserCodeVerifier;
  let verify: jest.SpiedFunction<SecretHasher['verify']>;

  beforeAll(async () => {
    hasher = new SecretHasher({ cacheSize: 0 });
    aliceHash = await hasher.hash('4821');
  });
  beforeEach(() => {
    attempts = new CountingAttempts();
    const users = new Users({
      alice: { sub: 'alice', userCodeHash: aliceHash },
      'alice@example.com': { sub: 'alice', userCodeHash: aliceHash },
      bob: { sub: 'bob', userCodeHash: null },
    });
    verifier = new UserCodeVerifier(users, attempts, clock, config, hasher);
    verify = jest.spyOn(hasher, 'verify');
    verify.mockClear();
  });

  it('§7.1 the right code resolves the user by sub, and the attempt no longer counts', async () => {
    expect(await verifier.verify({ loginHint: 'alice@example.com' }, '4821')).toEqual({ sub: 'alice' });
    expect(attempts.released).toEqual([attemptKey('alice', { loginHint: 'x' })]);
    expect(attempts.counts.get(attemptKey('alice', { sub: 'alice' }))).toBe(0);
  });

  it('§13 a wrong user code is invalid_user_code (400), checked against the stored hash, and counted', async () => {
    const err = await errorOf(verifier.verify({ loginHint: 'alice' }, '0000'));
    expect({ error: err.error, status: err.status }).toEqual({ error: 'invalid_user_code', status: 400 });
    expect(verify).toHaveBeenCalledWith('0000', aliceHash);
    expect(attempts.counts.get(attemptKey('alice', { sub: 'alice' }))).toBe(1);
    expect(attempts.released).toEqual([]);
  });

  it('§13 a user with no code set gets invalid_user_code after the same work: one scrypt run (on the dummy hash)', async () => {
    const err = await errorOf(verifier.verify({ loginHint: 'bob' }, '4821'));
    expect(err.error).toBe('invalid_user_code');
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0]?.[1]).not.toBe(aliceHash);
  });

  it('§13 no user enumeration: a hint naming nobody answers exactly as a wrong code does, after one scrypt run and one counted attempt', async () => {
    const unknown = await errorOf(verifier.verify({ loginHint: 'mallory@example.com' }, '4821'));
    const wrong = await errorOf(verifier.verify({ loginHint: 'alice' }, '4822'));
    expect({ error: unknown.error, status: unknown.status, description: unknown.description }).toEqual({ error: wrong.error, status: wrong.status, description: wrong.description });
    expect(verify).toHaveBeenCalledTimes(2);
    expect(attempts.counts.get(attemptKey(null, { loginHint: 'mallory@example.com' }))).toBe(1);
  });

  it('§7.1 brute force: after the limit the code is locked and answers invalid_user_code, even for the right code, never checked against the user’s hash', async () => {
    for (let i = 0; i < LIMITS.attemptLimit; i++) expect((await errorOf(verifier.verify({ sub: 'alice' }, `000${i}`))).error).toBe('invalid_user_code');
    verify.mockClear();
    const locked = await errorOf(verifier.verify({ sub: 'alice' }, '4821'));
    expect(locked.error).toBe('invalid_user_code');
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0]?.[1]).not.toBe(aliceHash);
  });

  it('§13 a lock takes the same work as a check (one scrypt run), so its timing does not tell which identifiers name the locked user', async () => {
    for (let i = 0; i < LIMITS.attemptLimit; i++) await errorOf(verifier.verify({ loginHint: 'alice' }, `000${i}`));
    verify.mockClear();
    // alice@example.com names the locked user, mallory@example.com nobody: the same answer after the same work.
    const sameUser = await errorOf(verifier.verify({ loginHint: 'alice@example.com' }, '0000'));
    const nobody = await errorOf(verifier.verify({ loginHint: 'mallory@example.com' }, '0000'));
    expect(sameUser.description).toBe(nobody.description);
    expect(verify).toHaveBeenCalledTimes(2);
    expect(verify.mock.calls.map((call) => call[1] === aliceHash)).toEqual([false, false]);
  });

  it('§7.1 the lock is per user, whichever hint names them; another user is not affected', async () => {
    for (let i = 0; i < LIMITS.attemptLimit; i++) await errorOf(verifier.verify({ loginHint: i % 2 === 0 ? 'alice' : 'alice@example.com' }, `000${i}`));
    expect((await errorOf(verifier.verify({ loginHint: 'alice@example.com' }, '4821'))).error).toBe('invalid_user_code');
    expect((await errorOf(verifier.verify({ loginHint: 'bob' }, '0000'))).error).toBe('invalid_user_code');
    expect(verify.mock.calls.at(-1)?.[0]).toBe('0000');
  });

  it('hostile: an empty or over-long code is invalid_user_code before any lookup or work', async () => {
    for (const code of ['', 'x'.repeat(MAX_USER_CODE_LENGTH + 1), '9'.repeat(1_000_000)]) {
      expect((await errorOf(verifier.verify({ sub: 'alice' }, code))).error).toBe('invalid_user_code');
    }
    expect(verify).not.toHaveBeenCalled();
    expect(attempts.counts.size).toBe(0);
  });

  it('hostile: control characters (NUL, line breaks) are invalid_user_code before any work; scrypt would take `4821\\0` for `4821`', async () => {
    for (const code of ['\u0000\u0000\u0000\u0000', '4821\u0000', '4821\u0000\u0000', '4821\n', '48\u007f21']) {
      expect((await errorOf(verifier.verify({ sub: 'alice' }, code))).error).toBe('invalid_user_code');
    }
    expect(verify).not.toHaveBeenCalled();
  });

  it('hostile: odd printable codes (emoji, right-to-left marks, spaces) are just wrong codes', async () => {
    for (const code of ['😀😀😀😀', '\u202e1284', ' 4821', '4821 ', '４８２１']) {
      attempts.counts.clear();
      expect((await errorOf(verifier.verify({ sub: 'alice' }, code))).error).toBe('invalid_user_code');
      expect(verify).toHaveBeenLastCalledWith(code, aliceHash);
    }
  });

  it('a saturated hasher answers 503-style temporarily_unavailable and gives the attempt back', async () => {
    verify.mockRejectedValueOnce(new SecretHasherBusy());
    expect((await errorOf(verifier.verify({ sub: 'alice' }, '4821'))).error).toBe('temporarily_unavailable');
    expect(attempts.counts.get(attemptKey('alice', { sub: 'alice' }))).toBe(0);
  });

  it('attempt keys are digests: the sub of a known user, else the hint as the lookup reads it', () => {
    expect(attemptKey('alice', { loginHint: 'alice@example.com' })).toBe(attemptKey(null, { sub: 'alice' }));
    expect(attemptKey(null, { loginHint: ' Nobody@Example.com ' })).toBe(attemptKey(null, { loginHint: 'nobody@example.com' }));
    expect(attemptKey(null, { loginHint: '+1 555 000 0000' })).toBe(attemptKey(null, { loginHint: '+15550000000' }));
    expect(attemptKey('alice', { sub: 'alice' })).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
