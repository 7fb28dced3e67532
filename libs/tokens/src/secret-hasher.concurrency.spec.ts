import * as realCrypto from 'node:crypto';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';

/**
 * scrypt observed at the source: node:crypto's `scrypt` is wrapped to count runs in flight, and can
 * hold them until the test releases them, so "at most K at once" is measured, not inferred from time.
 */
type ScryptCallback = (err: Error | null, derived: Buffer) => void;
const scryptRuns = { inFlight: 0, maxInFlight: 0, started: 0, hold: false, held: [] as (() => void)[] };

jest.unstable_mockModule('node:crypto', () => ({
  ...realCrypto,
  scrypt: (secret: string, salt: Buffer, keylen: number, options: realCrypto.ScryptOptions, callback: ScryptCallback) => {
    scryptRuns.inFlight++;
    scryptRuns.started++;
    scryptRuns.maxInFlight = Math.max(scryptRuns.maxInFlight, scryptRuns.inFlight);
    const run = () =>
      realCrypto.scrypt(secret, salt, keylen, options, (err, derived) => {
        scryptRuns.inFlight--;
        callback(err, derived);
      });
    if (scryptRuns.hold) scryptRuns.held.push(run);
    else run();
  },
}));

const { SecretHasher, SecretHasherBusy } = await import('./secret-hasher.js');

/** Lets queued promise callbacks run (no timers: nothing here depends on wall-clock time). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function releaseAll(): Promise<void> {
  while (scryptRuns.held.length > 0 || scryptRuns.inFlight > 0) {
    scryptRuns.held.shift()?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

describe('password guessing cannot starve real traffic: bounded scrypt concurrency', () => {
  let stored: string;

  beforeEach(async () => {
    scryptRuns.hold = false;
    stored = await new SecretHasher().hash('the-real-secret');
    Object.assign(scryptRuns, { inFlight: 0, maxInFlight: 0, started: 0, held: [] });
  });

  it('at most K scrypt runs at once; guesses beyond the queue are refused at once (SecretHasherBusy), without running scrypt', async () => {
    const hasher = new SecretHasher({ concurrency: 2, queueLimit: 3 });
    scryptRuns.hold = true;
    const guesses = Array.from({ length: 5 }, (_, i) => hasher.verify(`guess-${i}`, stored));
    await settle();
    expect(scryptRuns.started).toBe(2);

    await expect(hasher.verify('one-guess-too-many', stored)).rejects.toBeInstanceOf(SecretHasherBusy);
    expect(scryptRuns.started).toBe(2);

    scryptRuns.hold = false;
    await releaseAll();
    await expect(Promise.all(guesses)).resolves.toEqual([false, false, false, false, false]);
    expect(scryptRuns.started).toBe(5);
    expect(scryptRuns.maxInFlight).toBe(2);
  });

  it('a queue limit of 0 refuses whenever every slot is busy', async () => {
    const hasher = new SecretHasher({ concurrency: 1, queueLimit: 0 });
    scryptRuns.hold = true;
    const first = hasher.verify('guess', stored);
    await settle();
    await expect(hasher.verify('guess-2', stored)).rejects.toBeInstanceOf(SecretHasherBusy);
    scryptRuns.hold = false;
    await releaseAll();
    await expect(first).resolves.toBe(false);
    // The slot is free again.
    await expect(hasher.verify('the-real-secret', stored)).resolves.toBe(true);
  });

  it('a secret already verified needs no slot: it passes while guesses saturate the hasher', async () => {
    const hasher = new SecretHasher({ concurrency: 1, queueLimit: 1 });
    await expect(hasher.verify('the-real-secret', stored)).resolves.toBe(true);
    expect(hasher.recallsVerified('the-real-secret', stored)).toBe(true);
    expect(hasher.recallsVerified('a-guess', stored)).toBe(false);

    scryptRuns.hold = true;
    const guesses = [hasher.verify('guess-1', stored), hasher.verify('guess-2', stored)];
    await settle();
    await expect(hasher.verify('guess-3', stored)).rejects.toBeInstanceOf(SecretHasherBusy);
    await expect(hasher.verify('the-real-secret', stored)).resolves.toBe(true);

    scryptRuns.hold = false;
    await releaseAll();
    await expect(Promise.all(guesses)).resolves.toEqual([false, false]);
  });

  it('hashing (operator work) waits for a slot instead of being refused', async () => {
    const hasher = new SecretHasher({ concurrency: 1, queueLimit: 0 });
    scryptRuns.hold = true;
    const guess = hasher.verify('guess', stored);
    await settle();
    const hashed = hasher.hash('a-new-secret');
    await settle();
    expect(scryptRuns.started).toBe(1);
    scryptRuns.hold = false;
    await releaseAll();
    await expect(guess).resolves.toBe(false);
    await expect(hasher.verify('a-new-secret', await hashed)).resolves.toBe(true);
    expect(scryptRuns.maxInFlight).toBe(1);
  });
});
