import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { KeyDecryptionError, KeyEncryptor } from './key-encryption.js';

const keyA = randomBytes(32);
const encryptor = new KeyEncryptor(keyA.toString('base64url'));

function flip(part: string): string {
  const bytes = Buffer.from(part, 'base64url');
  bytes[0] = bytes[0] ^ 0x01;
  return bytes.toString('base64url');
}

describe('KeyEncryptor', () => {
  it('round-trips with AES-256-GCM in the v1.<iv>.<tag>.<ciphertext> format', () => {
    const plaintext = JSON.stringify({ kty: 'EC', d: 'secret' });
    const encrypted = encryptor.encrypt(plaintext, 'kid-1');
    expect(encrypted).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(encrypted).not.toContain('secret');
    expect(encryptor.decrypt(encrypted, 'kid-1')).toBe(plaintext);
  });

  it('fingerprints deterministically per key and purpose, without revealing the value', () => {
    const print = encryptor.fingerprint('fcm-registration-token', 'device target');
    expect(encryptor.fingerprint('fcm-registration-token', 'device target')).toBe(print);
    expect(encryptor.fingerprint('fcm-registration-token', 'another purpose')).not.toBe(print);
    expect(new KeyEncryptor(randomBytes(32).toString('base64url')).fingerprint('fcm-registration-token', 'device target')).not.toBe(print);
    expect(print).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('uses a fresh IV each time', () => {
    expect(encryptor.encrypt('same', 'k')).not.toBe(encryptor.encrypt('same', 'k'));
  });

  it('accepts the key as standard base64 too', () => {
    const other = new KeyEncryptor(keyA.toString('base64'));
    expect(other.decrypt(encryptor.encrypt('hello', 'k'), 'k')).toBe('hello');
  });

  it('detects tampering with the iv, tag or ciphertext', () => {
    const [v, iv, tag, ct] = encryptor.encrypt('payload', 'k').split('.') as [string, string, string, string];
    for (const tampered of [
      [v, flip(iv), tag, ct],
      [v, iv, flip(tag), ct],
      [v, iv, tag, flip(ct)],
    ]) {
      expect(() => encryptor.decrypt(tampered.join('.'), 'k')).toThrow(KeyDecryptionError);
    }
    expect(() => encryptor.decrypt(`v2.${iv}.${tag}.${ct}`, 'k')).toThrow(/format/);
    expect(() => encryptor.decrypt('garbage', 'k')).toThrow(KeyDecryptionError);
  });

  it('fails clearly with the wrong key', () => {
    const wrong = new KeyEncryptor(randomBytes(32).toString('base64url'));
    expect(() => wrong.decrypt(encryptor.encrypt('payload', 'k'), 'k')).toThrow(/wrong encryption key/);
  });

  it('binds the ciphertext to its kid (associated data)', () => {
    const encrypted = encryptor.encrypt('payload', 'kid-a');
    expect(() => encryptor.decrypt(encrypted, 'kid-b')).toThrow(KeyDecryptionError);
  });

  it('rejects a key that is not 32 bytes or not base64', () => {
    expect(() => new KeyEncryptor(randomBytes(16).toString('base64'))).toThrow(/exactly 32 bytes, got 16/);
    expect(() => new KeyEncryptor('')).toThrow(/base64/);
    expect(() => new KeyEncryptor('not base64 at all!')).toThrow(/base64/);
  });
});
