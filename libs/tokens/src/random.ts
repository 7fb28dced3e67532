import { createHash, randomBytes } from 'node:crypto';

/** A random, URL-safe opaque token: refresh tokens, decision tokens, JWT ids. */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 16) {
    throw new RangeError(`randomToken needs at least 16 bytes of entropy, got ${bytes}`);
  }
  return randomBytes(bytes).toString('base64url');
}

/**
 * The stored form of a high-entropy opaque token. A single fast hash is enough here because the
 * token itself carries ≥128 bits of entropy; low-entropy secrets go through `SecretHasher`.
 */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}
