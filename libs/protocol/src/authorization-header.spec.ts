import { describe, expect, it } from '@jest/globals';
import { B64TOKEN, authorizationToken } from './authorization-header.js';

describe('Authorization header tokens (RFC 6750 §2.1, RFC 9449 §7.1)', () => {
  it('RFC 6750 §2.1 takes the token of a scheme the endpoint accepts, the scheme case-insensitively (RFC 7235 §2.1)', () => {
    expect(authorizationToken('Bearer abc.DEF-_~+/=', ['Bearer'])).toEqual({ kind: 'token', scheme: 'Bearer', token: 'abc.DEF-_~+/=' });
    expect(authorizationToken('bearer  abc', ['Bearer'])).toEqual({ kind: 'token', scheme: 'Bearer', token: 'abc' });
    expect(authorizationToken('DPOP abc', ['Bearer', 'DPoP'])).toEqual({ kind: 'token', scheme: 'DPoP', token: 'abc' });
  });

  it('RFC 6750 §3.1 no header or another scheme carries no token (a bare challenge)', () => {
    expect(authorizationToken(undefined, ['Bearer'])).toEqual({ kind: 'absent' });
    expect(authorizationToken('', ['Bearer'])).toEqual({ kind: 'absent' });
    expect(authorizationToken('Basic dXNlcjpwYXNz', ['Bearer'])).toEqual({ kind: 'absent' });
    expect(authorizationToken('DPoP abc', ['Bearer'])).toEqual({ kind: 'absent' });
  });

  it('RFC 6750 §3.1 a scheme without a single b64token is malformed (invalid_request)', () => {
    for (const header of ['Bearer', 'Bearer a b', 'Bearer a"b', 'Bearer ab==c', 'Bearer tok\u0000en']) {
      expect(authorizationToken(header, ['Bearer'])).toEqual({ kind: 'malformed', scheme: 'Bearer' });
    }
  });

  it('b64token: letters, digits, -._~+/ then padding only at the end', () => {
    expect(B64TOKEN.test('aZ09-._~+/==')).toBe(true);
    expect(B64TOKEN.test('=a')).toBe(false);
    expect(B64TOKEN.test('a b')).toBe(false);
  });
});
