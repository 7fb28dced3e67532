import { createHmac, hkdfSync } from 'node:crypto';
import { sha256Base64url } from '@ciba/tokens';

/**
 * Decision tokens authorize an authentication device to answer one request. They are derived —
 * HMAC(key, requestId:channel) — rather than random so that a retried notification (after a crash
 * or a failed attempt) carries the same token; only the hash is stored, single use, expiring with
 * the request. The key is derived from the key-encryption key, so there is no extra secret to run.
 */
export class DecisionTokens {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: string) {
    const ikm = Buffer.from(keyEncryptionKey.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    this.key = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'ciba decision tokens v1', 32));
  }

  tokenFor(requestId: string, channel: string): string {
    return createHmac('sha256', this.key).update(`${requestId}:${channel}`).digest('base64url');
  }

  static hash(token: string): string {
    return sha256Base64url(token);
  }
}
