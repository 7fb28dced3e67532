import { createHmac, timingSafeEqual } from 'node:crypto';
import { DPOP_NONCE_MAX_LENGTH } from '@ciba/protocol';
import { derivedKey } from './key-encryption.js';

export interface DpopNoncesOptions {
  /** Seconds each nonce is the current one; it is still accepted for one more such step. */
  readonly lifetimeSeconds: number;
  readonly now: () => Date;
}

/**
 * RFC 9449 §8 / §9 server-provided nonces, stateless: the nonce of a time step is
 * `base64url(HMAC-SHA256(k, step))`, k derived from the key-encryption key. Every replica computes
 * the same nonce without a database or a message, none can be forged without the key, and a nonce
 * is accepted during its step and the next one (so one handed out at the end of a step stays good
 * for at least one whole step). A changed key-encryption key only makes clients fetch a new nonce.
 */
export class DpopNonces {
  private readonly key: Buffer;
  private readonly lifetimeMs: number;

  constructor(
    keyEncryptionKey: string,
    private readonly options: DpopNoncesOptions,
  ) {
    if (!Number.isInteger(options.lifetimeSeconds) || options.lifetimeSeconds <= 0) {
      throw new RangeError(`the DPoP nonce lifetime must be a positive whole number of seconds, got ${options.lifetimeSeconds}`);
    }
    this.key = derivedKey(keyEncryptionKey, 'ciba dpop nonce v1');
    this.lifetimeMs = options.lifetimeSeconds * 1000;
  }

  /** The nonce to hand out now (`DPoP-Nonce`). */
  current(): string {
    return this.nonceOf(this.step()).toString('base64url');
  }

  /** Whether `nonce` is the current or the previous step's; compared in constant time. */
  isValid(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length === 0 || nonce.length > DPOP_NONCE_MAX_LENGTH) return false;
    const presented = Buffer.from(nonce, 'base64url');
    // Only the canonical spelling: base64url decoding forgives stray characters.
    if (presented.toString('base64url') !== nonce) return false;
    const step = this.step();
    let valid = false;
    for (const candidate of [this.nonceOf(step), this.nonceOf(step - 1)]) {
      if (presented.length === candidate.length && timingSafeEqual(presented, candidate)) valid = true;
    }
    return valid;
  }

  private step(): number {
    return Math.floor(this.options.now().getTime() / this.lifetimeMs);
  }

  private nonceOf(step: number): Buffer {
    const counter = Buffer.alloc(8);
    counter.writeBigInt64BE(BigInt(step));
    return createHmac('sha256', this.key).update(counter).digest();
  }
}
