import { Injectable } from '@nestjs/common';
import { KeyEncryptor } from '@ciba/tokens';

/**
 * CIBA §7.1 client_notification_token at rest: sealed with the key-encryption key (AES-256-GCM),
 * bound to its request id, so a database reader cannot present it to the client's notification
 * endpoint and a sealed token cannot be moved to another request's row. It cannot be hashed: the
 * provider must present it as the bearer of its callbacks. Sealed by the authorize service, opened
 * only by the callback dispatcher; never logged.
 */
@Injectable()
export class ClientNotificationTokenSealer {
  constructor(private readonly encryptor: KeyEncryptor) {}

  seal(token: string, requestId: string): string {
    return this.encryptor.encrypt(token, boundTo(requestId));
  }

  /** Throws `KeyDecryptionError` when the value was tampered with, moved from another request, or the key changed. */
  open(sealed: string, requestId: string): string {
    return this.encryptor.decrypt(sealed, boundTo(requestId));
  }
}

const boundTo = (requestId: string) => `client_notification_token:${requestId}`;
