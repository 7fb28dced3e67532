import { describe, expect, it } from '@jest/globals';
import { OAuthError } from './errors.js';
import { parseScope, splitSpaceDelimited } from './scope.js';

describe('scope', () => {
  it('RFC 6749 §3.3 splits on spaces, dedupes and keeps order', () => {
    expect(parseScope('openid  email openid profile')).toEqual(['openid', 'email', 'profile']);
  });

  it.each(['openid\temail', 'openid "x"', 'open\\id', 'ünïcode', '  '])('RFC 6749 §3.3 rejects malformed scope %p', (value) => {
    expect(() => parseScope(value)).toThrow(OAuthError);
  });

  it('splits other space-delimited lists the same way', () => {
    expect(splitSpaceDelimited(' urn:acr:a  urn:acr:b urn:acr:a ')).toEqual(['urn:acr:a', 'urn:acr:b']);
  });
});
