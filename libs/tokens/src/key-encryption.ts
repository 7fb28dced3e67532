import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class KeyDecryptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyDecryptionError';
  }
}

function decodeKey(encoded: string): Buffer {
  const trimmed = encoded.trim();
  // Node's base64 decoder silently skips characters it does not know; check the alphabet first.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new Error('signing key encryption key must be base64 or base64url encoded');
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new Error(`signing key encryption key must decode to exactly ${KEY_BYTES} bytes, got ${key.length}`);
  }
  return key;
}

/** A 32-byte key derived from a key-encryption key for one purpose (HKDF-SHA256, `info` names it). */
function hkdfSubkey(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, 32));
}

/**
 * A MAC key derived from the key-encryption key (`CIBA_KEY_ENCRYPTION_KEY`, base64 or base64url)
 * for one purpose, so derived values (decision tokens, WebAuthn user handles) need no secret of
 * their own. `info` must be distinct per purpose and versioned, e.g. `ciba decision tokens v1`.
 */
export function derivedKey(encodedKeyEncryptionKey: string, info: string): Buffer {
  return hkdfSubkey(decodeKey(encodedKeyEncryptionKey), info);
}

/**
 * Encrypts private signing JWKs at rest with AES-256-GCM under a key from config.
 * Output: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The caller's associated data (the
 * key's kid) is authenticated but not stored, so a ciphertext cannot be moved to another key's row.
 */
export class KeyEncryptor {
  private readonly key: Buffer;

  /** @param encodedKey 32 random bytes, base64 or base64url encoded. */
  constructor(encodedKey: string) {
    this.key = decodeKey(encodedKey);
  }

  encrypt(plaintext: string, kid: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  /**
   * A keyed fingerprint of `value` (HMAC-SHA256 under a subkey derived for `purpose`): lets a
   * column be looked up by a secret value without storing anything that confirms a guess.
   */
  fingerprint(value: string, purpose: string): string {
    return createHmac('sha256', hkdfSubkey(this.key, `ciba fingerprint ${purpose} v1`)).update(value, 'utf8').digest('base64url');
  }

  /** Throws `KeyDecryptionError` when the value is malformed, was tampered with, or the key or kid is wrong. */
  decrypt(encrypted: string, kid: string): string {
    const parts = encrypted.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new KeyDecryptionError(`encrypted signing key for kid ${kid} is not in the ${VERSION}.<iv>.<tag>.<ciphertext> format`);
    }
    const iv = Buffer.from(parts[1], 'base64url');
    const tag = Buffer.from(parts[2], 'base64url');
    const ciphertext = Buffer.from(parts[3], 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new KeyDecryptionError(`encrypted signing key for kid ${kid} has a malformed iv or tag`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch (cause) {
      throw new KeyDecryptionError(
        `cannot decrypt the signing key for kid ${kid}: wrong encryption key, wrong kid, or the stored value was tampered with`,
        { cause },
      );
    }
  }
}
