import { describe, expect, it } from '@jest/globals';
import { randomToken, sha256Base64url } from './random.js';

describe('randomToken', () => {
  it('is base64url with the requested entropy', () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('does not repeat', () => {
    expect(new Set(Array.from({ length: 100 }, () => randomToken())).size).toBe(100);
  });

  it('refuses too little entropy', () => {
    expect(() => randomToken(8)).toThrow(RangeError);
  });
});

describe('sha256Base64url', () => {
  it('matches the FIPS 180-2 "abc" vector', () => {
    expect(sha256Base64url('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});
