import { createHmac } from 'node:crypto';
import { derivedKey, sha256Base64url } from '@ciba/tokens';

/**
 * Decision tokens authorize an authentication device to answer one request. They are derived —
 * HMAC(key, requestId:channel) — rather than random so that a retried notification (after a crash
 * or a failed attempt) carries the same token; only the hash is stored, single use, expiring with
 * the request. The key is derived from the key-encryption key, so there is no extra secret to run.
 */
export class DecisionTokens {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: string) {
    this.key = derivedKey(keyEncryptionKey, 'ciba decision tokens v1');
  }

  tokenFor(requestId: string, channel: string): string {
    return createHmac('sha256', this.key).update(`${requestId}:${channel}`).digest('base64url');
  }

  static hash(token: string): string {
    return sha256Base64url(token);
  }
}
