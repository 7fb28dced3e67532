import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const SCHEME = 'scrypt';
const DEFAULT_PARAMS = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds on parameters read back from storage, so a corrupted row cannot exhaust memory. */
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;

function scryptAsync(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keylen, options, (err, derived) => (err ? reject(err) : resolve(derived)));
  });
}

interface ParsedHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function parsePositiveInt(value: string | undefined): number | null {
  if (value === undefined || !/^[1-9][0-9]{0,9}$/.test(value)) return null;
  return Number(value);
}

function parse(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== SCHEME) return null;
  const N = parsePositiveInt(parts[1]);
  const r = parsePositiveInt(parts[2]);
  const p = parsePositiveInt(parts[3]);
  if (N === null || r === null || p === null) return null;
  // N must be a power of two greater than 1.
  if (N < 2 || (N & (N - 1)) !== 0 || N > 2 ** MAX_LOG2_N || r > MAX_R || p > MAX_P) return null;
  const base64url = /^[A-Za-z0-9_-]+$/;
  if (!base64url.test(parts[4] ?? '') || !base64url.test(parts[5] ?? '')) return null;
  const salt = Buffer.from(parts[4], 'base64url');
  const hash = Buffer.from(parts[5], 'base64url');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

function maxmemFor(N: number, r: number, p: number): number {
  // scrypt needs about 128·N·r bytes (+128·r·p); leave headroom over Node's 32 MiB default.
  return 128 * N * r + 128 * r * p + 16 * 1024 * 1024;
}

export interface SecretHasherOptions {
  /** Successful verifications kept in memory; 0 disables the cache. */
  readonly cacheSize?: number;
  /** scrypt runs at once (default 2): they share libuv's small thread pool with DNS and file I/O. */
  readonly concurrency?: number;
  /** Verifications that may wait for a run (default 32); more are refused with `SecretHasherBusy`. */
  readonly queueLimit?: number;
}

/** Every scrypt slot is busy and the queue is full: refuse now rather than queue without bound. */
export class SecretHasherBusy extends Error {
  constructor() {
    super('secret hashing is saturated');
    this.name = 'SecretHasherBusy';
  }
}

/**
 * Hashes client secrets with scrypt. Client secrets may be low-entropy (operators write them in a
 * bootstrap file), so unlike opaque tokens they get a slow, salted KDF.
 * Stored format: `scrypt$N$r$p$<salt base64url>$<hash base64url>`.
 */
export class SecretHasher {
  private readonly cacheSize: number;
  /**
   * Verified (stored, secret) pairs, keyed by HMAC under a per-process random key.
   *
   * Trade-off: client authentication runs on every token-endpoint poll, and paying ~50 ms of scrypt
   * each time would make the KDF itself a CPU DoS vector. Caching successes means the hot path costs
   * one HMAC. The price is that, while a pair is cached, someone who can read this process's memory
   * (which holds the HMAC key) could brute-force a low-entropy secret at HMAC speed instead of scrypt
   * speed; the cache never leaves the process and dies with it. Failures are never cached, so
   * guessing over the network always pays full scrypt. Keying on `stored` too means a changed
   * secret (new hash) can never hit an old entry.
   */
  private readonly verified = new Map<string, true>();
  private readonly cacheKey = randomBytes(32);
  /**
   * Bounded concurrency: every wrong guess costs a full scrypt run, so unbounded, guesses would fill
   * the thread pool and starve real traffic. Verifications wait in a bounded queue; `hash` (operator
   * work: bootstrap, the dummy hash at start) waits without bound.
   */
  private readonly slots: BoundedSlots;

  constructor(options: SecretHasherOptions = {}) {
    this.cacheSize = Math.max(0, Math.floor(options.cacheSize ?? 10_000));
    this.slots = new BoundedSlots(Math.max(1, Math.floor(options.concurrency ?? 2)), Math.max(0, Math.floor(options.queueLimit ?? 32)));
  }

  async hash(secret: string): Promise<string> {
    if (secret.includes('\u0000')) throw new RangeError('a secret may not contain NUL characters');
    const { N, r, p } = DEFAULT_PARAMS;
    const salt = randomBytes(SALT_BYTES);
    const derived = await this.slots.run(() => scryptAsync(secret, salt, KEY_BYTES, { N, r, p, maxmem: maxmemFor(N, r, p) }), false);
    return [SCHEME, N, r, p, salt.toString('base64url'), derived.toString('base64url')].join('$');
  }

  /**
   * True when this exact pair was verified before and is still cached: one HMAC, no scrypt. Lets a
   * caller skip work it does only before a real verification (such as a throttle check).
   */
  recallsVerified(secret: string, stored: string): boolean {
    const cacheKey = this.cacheKeyOf(secret, stored);
    return cacheKey !== null && this.verified.has(cacheKey);
  }

  /**
   * True when `secret` matches `stored`; false on a mismatch or an unrecognised `stored` format.
   * Throws `SecretHasherBusy` when the hashing slots and their queue are full.
   */
  async verify(secret: string, stored: string): Promise<boolean> {
    const parsed = parse(stored);
    if (parsed === null) return false;

    const cacheKey = this.cacheKeyOf(secret, stored);
    if (cacheKey !== null && this.verified.has(cacheKey)) return true;

    const { N, r, p, salt, hash } = parsed;
    let derived: Buffer;
    try {
      derived = await this.slots.run(() => scryptAsync(secret, salt, hash.length, { N, r, p, maxmem: maxmemFor(N, r, p) }), true);
    } catch (err) {
      if (err instanceof SecretHasherBusy) throw err;
      return false;
    }
    // scrypt keys its HMAC with the secret, zero-padded to the block size: `s` and `s\0` derive the
    // same hash. No stored secret holds a NUL (`hash` refuses one), so a secret with one never matches.
    const ok = timingSafeEqual(derived, hash) && !secret.includes('\u0000');
    if (ok && cacheKey !== null) this.remember(cacheKey);
    return ok;
  }

  private cacheKeyOf(secret: string, stored: string): string | null {
    return this.cacheSize > 0 ? createHmac('sha256', this.cacheKey).update(`${stored}\0${secret}`).digest('base64url') : null;
  }

  private remember(key: string): void {
    while (this.verified.size >= this.cacheSize) {
      // Map iterates in insertion order: evict the oldest entry (FIFO).
      const oldest = this.verified.keys().next();
      if (oldest.done) break;
      this.verified.delete(oldest.value);
    }
    this.verified.set(key, true);
  }
}

/** A counting semaphore with a bounded wait queue (FIFO). */
class BoundedSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly size: number,
    private readonly queueLimit: number,
  ) {}

  /** Runs `task` in a slot; with `bounded`, refuses (SecretHasherBusy) instead of queueing past the limit. */
  async run<T>(task: () => Promise<T>, bounded: boolean): Promise<T> {
    if (this.running >= this.size) {
      if (bounded && this.waiting.length >= this.queueLimit) throw new SecretHasherBusy();
      // The slot is handed over by `release`, so `running` stays counted while we wait.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
