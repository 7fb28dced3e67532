import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { KeyEncryptor } from '@ciba/tokens';
import { ClientNotificationTokenSealer } from './client-notification-token-sealer.js';

const key = randomBytes(32).toString('base64');
const sealer = new ClientNotificationTokenSealer(new KeyEncryptor(key));

describe('ClientNotificationTokenSealer', () => {
  it('CIBA §7.1 seals the token so the stored form reveals nothing, and opens it for its request', () => {
    const requestId = randomUUID();
    const sealed = sealer.seal('bearer-8dUjQ2', requestId);
    expect(sealed).not.toContain('bearer-8dUjQ2');
    expect(sealed).not.toContain(Buffer.from('bearer-8dUjQ2').toString('base64url'));
    expect(sealer.seal('bearer-8dUjQ2', requestId)).not.toBe(sealed);
    expect(sealer.open(sealed, requestId)).toBe('bearer-8dUjQ2');
  });

  it('database writer: a sealed token moved to another request’s row cannot be opened there', () => {
    const sealed = sealer.seal('bearer-8dUjQ2', randomUUID());
    expect(() => sealer.open(sealed, randomUUID())).toThrow();
  });

  it('cannot be opened with another key-encryption key', () => {
    const requestId = randomUUID();
    const sealed = sealer.seal('bearer-8dUjQ2', requestId);
    expect(() => new ClientNotificationTokenSealer(new KeyEncryptor(randomBytes(32).toString('base64'))).open(sealed, requestId)).toThrow();
  });
});
