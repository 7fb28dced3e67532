import { describe, expect, it } from '@jest/globals';
import { OAuthError } from '@ciba/protocol';
import { bearerTokenOf, digestMatchesAny, displayTextProblem, newClientId, newSecret, tokenDigest } from './registration.rules.js';

function thrown(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OAuthError) return err;
    throw err;
  }
  throw new Error('nothing was thrown');
}

describe('registration rules', () => {
  it('RFC 6750 §2.1 takes the token from Authorization: Bearer (scheme case-insensitive)', () => {
    expect(bearerTokenOf('Bearer abc.DEF-123_~+/=', 'initial access token')).toBe('abc.DEF-123_~+/=');
    expect(bearerTokenOf('bearer abc', 'initial access token')).toBe('abc');
  });

  it('RFC 6750 §3.1 no bearer token: 401 with a bare Bearer challenge, no error code in it', () => {
    for (const header of [undefined, '', 'Basic dXNlcjpwYXNz']) {
      const err = thrown(() => bearerTokenOf(header, 'initial access token'));
      expect(err.status).toBe(401);
      expect(err.headers['WWW-Authenticate']).toBe('Bearer realm="ciba"');
    }
  });

  it('RFC 6750 §3.1 a malformed Authorization header is 400 invalid_request', () => {
    for (const header of ['Bearer', 'Bearer a b', 'Bearer a\u0000b', `Bearer ${'a'.repeat(513)}`]) {
      const err = thrown(() => bearerTokenOf(header, 'registration access token'));
      expect({ error: err.error, status: err.status }).toEqual({ error: 'invalid_request', status: 400 });
      expect(err.headers['WWW-Authenticate']).toContain('error="invalid_request"');
    }
  });

  it('compares token digests against every candidate', () => {
    const digests = [tokenDigest('first-token'), tokenDigest('second-token')];
    expect(digestMatchesAny(tokenDigest('second-token'), digests)).toBe(true);
    expect(digestMatchesAny(tokenDigest('third-token'), digests)).toBe(false);
    expect(digestMatchesAny(tokenDigest('first-token'), [])).toBe(false);
    expect(digestMatchesAny('short', digests)).toBe(false);
  });

  it('RFC 7591 §3.2.1 issues unguessable identifiers and secrets, different every time', () => {
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newClientId()).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(newSecret()).not.toBe(newSecret());
    expect(newClientId()).not.toBe(newClientId());
  });

  it('display text: control and bidi characters are problems, ordinary text and emoji are not', () => {
    expect(displayTextProblem('Café Console — 東京 🚀')).toBeNull();
    expect(displayTextProblem('a\u0000b')).toMatch(/control/);
    expect(displayTextProblem('a\u2067b')).toMatch(/bidirectional/);
  });
});
