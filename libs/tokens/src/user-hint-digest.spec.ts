import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { UserHintDigest } from './user-hint-digest.js';

const key = randomBytes(32).toString('base64');

describe('UserHintDigest (audit evidence record)', () => {
  it('CIBA §7.1 login_hint is kept as base64url(HMAC-SHA256(k, type ‖ 0x00 ‖ value)) with k derived by HKDF', () => {
    const k = Buffer.from(hkdfSync('sha256', Buffer.from(key, 'base64'), Buffer.alloc(0), 'ciba audit user hint v1', 32));
    const expected = createHmac('sha256', k).update('login_hint\u0000alice@example.com', 'utf8').digest('base64url');
    expect(new UserHintDigest(key).digest('login_hint', 'alice@example.com')).toBe(expected);
  });

  it('CIBA §7.1 the hash is stable, hides the hint, and differs per key, hint type and value', () => {
    const digest = new UserHintDigest(key);
    const hash = digest.digest('login_hint', 'alice@example.com');
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('alice');
    expect(digest.digest('login_hint', 'alice@example.com')).toBe(hash);
    expect(digest.digest('login_hint', 'bob@example.com')).not.toBe(hash);
    expect(digest.digest('id_token_hint', 'alice@example.com')).not.toBe(hash);
    expect(new UserHintDigest(randomBytes(32).toString('base64')).digest('login_hint', 'alice@example.com')).not.toBe(hash);
  });
});
