import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './provider-config.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
const keysOf = (env: Record<string, string>) => loadConfig({ ...base, ...env }, 'token', ['keys']).keys;

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env }, 'token', ['keys']);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('CIBA_SIGNING_ALGS', () => {
  it('defaults to ES256 (the default) and RS256', () => {
    expect(keysOf({})).toMatchObject({ signingAlg: 'ES256', signingAlgs: ['ES256', 'RS256'] });
  });

  it('takes a list, the first being the default', () => {
    expect(keysOf({ CIBA_SIGNING_ALGS: 'RS256 EdDSA' })).toMatchObject({ signingAlg: 'RS256', signingAlgs: ['RS256', 'EdDSA'] });
    expect(keysOf({ CIBA_SIGNING_ALGS: 'PS256,RS256' })).toMatchObject({ signingAlg: 'PS256', signingAlgs: ['PS256', 'RS256'] });
  });

  it('OIDC Discovery §3: a list without RS256 is a configuration error', () => {
    expect(problemsOf({ CIBA_SIGNING_ALGS: 'ES256' })).toMatch(/CIBA_SIGNING_ALGS: must include RS256/);
  });

  it('refuses unknown, repeated or no algorithms', () => {
    expect(problemsOf({ CIBA_SIGNING_ALGS: 'RS256 HS256' })).toMatch(/CIBA_SIGNING_ALGS: expected distinct algorithms/);
    expect(problemsOf({ CIBA_SIGNING_ALGS: 'RS256 RS256' })).toMatch(/CIBA_SIGNING_ALGS: expected distinct algorithms/);
    expect(problemsOf({ CIBA_SIGNING_ALGS: ' , ' })).toMatch(/CIBA_SIGNING_ALGS: expected distinct algorithms/);
  });

  it('CIBA_SIGNING_ALG still names the default: alone it adds RS256, beside the list it must be its first', () => {
    expect(keysOf({ CIBA_SIGNING_ALG: 'EdDSA' })).toMatchObject({ signingAlg: 'EdDSA', signingAlgs: ['EdDSA', 'RS256'] });
    expect(keysOf({ CIBA_SIGNING_ALG: 'RS256' })).toMatchObject({ signingAlg: 'RS256', signingAlgs: ['RS256'] });
    expect(keysOf({ CIBA_SIGNING_ALG: 'ES256', CIBA_SIGNING_ALGS: 'ES256 RS256' }).signingAlg).toBe('ES256');
    expect(problemsOf({ CIBA_SIGNING_ALG: 'ES256', CIBA_SIGNING_ALGS: 'RS256 ES256' })).toMatch(/CIBA_SIGNING_ALG: names the default algorithm/);
    expect(problemsOf({ CIBA_SIGNING_ALG: 'HS256' })).toMatch(/CIBA_SIGNING_ALG/);
  });
});
