import { createHmac } from 'node:crypto';
import { derivedKey } from './key-encryption.js';

/** HKDF `info` of the audit hint key: a new version changes every hint hash. */
const AUDIT_HINT_KEY_INFO = 'ciba audit user hint v1';

/**
 * The user of an authentication request as the audit trail keeps it: `base64url(HMAC-SHA256(k,
 * hint type ‖ 0x00 ‖ hint value))`, 43 characters. The same hint always gives the same hash, so an
 * auditor can find every request made for a user (by hashing the hint with the key), but the hash
 * reveals neither the email address, the phone number nor the token the client sent. `k` is derived
 * (HKDF-SHA256) from `CIBA_AUDIT_HMAC_KEY`, or from `CIBA_KEY_ENCRYPTION_KEY` when that is not set.
 */
export class UserHintDigest {
  private readonly key: Buffer;

  /** @param encodedKey 32 random bytes, base64 or base64url. */
  constructor(encodedKey: string) {
    this.key = derivedKey(encodedKey, AUDIT_HINT_KEY_INFO);
  }

  digest(hintType: string, value: string): string {
    return createHmac('sha256', this.key).update(hintType, 'utf8').update(Buffer.of(0)).update(value, 'utf8').digest('base64url');
  }
}
