import { describe, expect, it } from '@jest/globals';
import { SecretHasher } from './secret-hasher.js';

describe('SecretHasher', () => {
  const hasher = new SecretHasher();

  it('encodes scrypt parameters, salt and hash', async () => {
    const stored = await hasher.hash('s3cret');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash('same')).not.toBe(await hasher.hash('same'));
  });

  it('verifies the right secret and rejects a wrong one', async () => {
    const stored = await hasher.hash('correct horse');
    expect(await hasher.verify('correct horse', stored)).toBe(true);
    expect(await hasher.verify('correct horse', stored)).toBe(true); // served from the cache
    expect(await hasher.verify('correct hors', stored)).toBe(false);
    expect(await hasher.verify('', stored)).toBe(false);
  });

  it('refuses the secret with NULs appended, which scrypt would take for the secret (its HMAC key is zero-padded)', async () => {
    const stored = await hasher.hash('padded secret');
    expect(await new SecretHasher({ cacheSize: 0 }).verify('padded secret\u0000', stored)).toBe(false);
    expect(await hasher.verify('padded secret\u0000\u0000', stored)).toBe(false);
    expect(await hasher.verify('padded secret', stored)).toBe(true);
    await expect(hasher.hash('nul\u0000inside')).rejects.toThrow('NUL');
  });

  it('does not let a cached success leak to another stored hash', async () => {
    const a = await hasher.hash('one');
    const b = await hasher.hash('two');
    expect(await hasher.verify('one', a)).toBe(true);
    expect(await hasher.verify('one', b)).toBe(false);
  });

  it('returns false for a malformed stored value', async () => {
    const stored = await hasher.hash('x');
    const [, , , , salt, hash] = stored.split('$');
    for (const bad of [
      '',
      'plaintext',
      stored.replace('scrypt', 'bcrypt'),
      `scrypt$16384$8$1$${salt}`,
      `scrypt$16385$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 30}$8$1$${salt}$${hash}`, // absurd memory cost
      `scrypt$16384$8$1$${salt}$!!!`,
      `scrypt$16384$8$1$$${hash}`,
      `${stored}$extra`,
    ]) {
      expect(await hasher.verify('x', bad)).toBe(false);
    }
  });

  it('keeps verifying correctly when the cache evicts (FIFO)', async () => {
    const tiny = new SecretHasher({ cacheSize: 1 });
    const a = await tiny.hash('a');
    const b = await tiny.hash('b');
    expect(await tiny.verify('a', a)).toBe(true);
    expect(await tiny.verify('b', b)).toBe(true);
    expect(await tiny.verify('a', a)).toBe(true);
    expect(await tiny.verify('b', a)).toBe(false);
  });
});
