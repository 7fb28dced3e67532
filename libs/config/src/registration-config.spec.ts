import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { loadConfig } from './provider-config.js';
import { registrationTokenDigest, registrationSettings } from './registration-config.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };

describe('dynamic client registration settings (CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN)', () => {
  it('RFC 7591 §3 registration is off unless the variable is set', () => {
    expect(loadConfig(base, 'authorize', []).registration).toEqual({ enabled: false, initialAccessTokens: [] });
    expect(registrationSettings('  ', [])).toEqual({ enabled: false, initialAccessTokens: [] });
  });

  it('RFC 7591 §3 one or more initial access tokens, kept only as SHA-256 digests', () => {
    const first = randomBytes(32).toString('base64url');
    const second = randomBytes(32).toString('base64');
    const settings = loadConfig({ ...base, CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: `${first}, ${second}` }, 'authorize', []).registration;
    expect(settings).toEqual({ enabled: true, initialAccessTokens: [registrationTokenDigest(first), registrationTokenDigest(second)] });
    expect(JSON.stringify(settings)).not.toContain(first);
  });

  it('`open` alone turns registration on without a token (development)', () => {
    expect(registrationSettings('open', [])).toEqual({ enabled: true, initialAccessTokens: 'open' });
  });

  it('refuses short tokens, tokens a Bearer header cannot carry, and `open` beside tokens; the message never quotes a value', () => {
    const secretish = 'short-but-secret';
    const cases = [secretish, `${'a'.repeat(40)} open`, `${'a'.repeat(31)}`, `${'a'.repeat(40)}"quoted`];
    for (const value of cases) {
      let message = '';
      try {
        loadConfig({ ...base, CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: value }, 'authorize', []);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN');
      expect(message).not.toContain(secretish);
      expect(message).not.toContain('aaaaaaaa');
    }
  });
});
