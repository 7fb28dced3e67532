import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { sectorIdentifierOf } from '@ciba/protocol';
import { PairwiseSubjects } from './pairwise-subjects.js';

const key = randomBytes(32).toString('base64');
const subjects = new PairwiseSubjects(key);

describe('PairwiseSubjects', () => {
  it('OpenID Connect Core §8.1 derives a stable, URL-safe pairwise sub', () => {
    const sub = subjects.subject('bank.example', 'alice');
    expect(sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(subjects.subject('bank.example', 'alice')).toBe(sub);
    expect(new PairwiseSubjects(key).subject('bank.example', 'alice')).toBe(sub);
    expect(sub).not.toContain('alice');
  });

  it('OpenID Connect Core §8.1 is base64url(HMAC-SHA256(k, sector ‖ 0x00 ‖ sub)) with k derived by HKDF', () => {
    const k = Buffer.from(hkdfSync('sha256', Buffer.from(key, 'base64'), Buffer.alloc(0), 'ciba pairwise sub v1', 32));
    const expected = createHmac('sha256', k).update('bank.example\u0000alice', 'utf8').digest('base64url');
    expect(subjects.subject('bank.example', 'alice')).toBe(expected);
  });

  it('OpenID Connect Core §17.3 differs per sector and per user', () => {
    const alice = subjects.subject('bank.example', 'alice');
    expect(subjects.subject('shop.example', 'alice')).not.toBe(alice);
    expect(subjects.subject('bank.example', 'bob')).not.toBe(alice);
    expect(subjects.subject('client:rp-1', 'alice')).not.toBe(subjects.subject('client:rp-2', 'alice'));
  });

  it('OpenID Connect Core §8.1 two clients of one sector get the same sub, two clients bound to no host different ones', () => {
    const push = (clientId: string, endpoint: string) => ({
      clientId,
      backchannelTokenDeliveryMode: 'push',
      backchannelClientNotificationEndpoint: endpoint,
      tokenEndpointAuthMethod: 'client_secret_basic',
      jwksUri: null,
    });
    const web = subjects.subject(sectorIdentifierOf(push('bank-web', 'https://rp.bank.example/web/cb')), 'alice');
    const app = subjects.subject(sectorIdentifierOf(push('bank-app', 'https://rp.bank.example/app/cb')), 'alice');
    expect(app).toBe(web);
    const poll = (clientId: string) => ({ ...push(clientId, 'https://rp.bank.example/cb'), backchannelTokenDeliveryMode: 'poll' });
    expect(subjects.subject(sectorIdentifierOf(poll('rp-1')), 'alice')).not.toBe(subjects.subject(sectorIdentifierOf(poll('rp-2')), 'alice'));
  });

  it('OpenID Connect Core §8.1 the separator keeps sector and sub apart (no shifting of characters between them)', () => {
    expect(subjects.subject('bank.example', 'alice')).not.toBe(subjects.subject('bank.exampl', 'ealice'));
    expect(subjects.subject('a', 'bc')).not.toBe(subjects.subject('ab', 'c'));
  });

  it('OpenID Connect Core §8.1 changing the key changes every pairwise sub', () => {
    const other = new PairwiseSubjects(randomBytes(32).toString('base64'));
    expect(other.subject('bank.example', 'alice')).not.toBe(subjects.subject('bank.example', 'alice'));
  });

  it('refuses an empty sector or subject, and a key that is not 32 bytes', () => {
    expect(() => subjects.subject('', 'alice')).toThrow();
    expect(() => subjects.subject('bank.example', '')).toThrow();
    expect(() => new PairwiseSubjects(randomBytes(16).toString('base64'))).toThrow();
  });
});
