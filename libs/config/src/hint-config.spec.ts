import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { ConfigError, SENSITIVE_SETTINGS, loadConfig } from './provider-config.js';
import { parseBootstrap } from './bootstrap-file.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CIBA_ISSUER: 'https://op.example' };
const load = (env: Record<string, string>) => loadConfig({ ...base, ...env }, 'authorize', ['database', 'keys']).hints;
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
const privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1' };

describe('hint configuration (CIBA §7.1 hints)', () => {
  it('CIBA §7.1 accepts every login_hint form by default, with no directory and no login_hint_token issuer', () => {
    expect(load({})).toEqual({ loginHintForms: ['sub', 'email', 'phone', 'username'], directory: null, loginHintTokenIssuers: [] });
  });

  it('CIBA_LOGIN_HINT_FORMS narrows the accepted forms, and refuses unknown or repeated forms', () => {
    expect(load({ CIBA_LOGIN_HINT_FORMS: 'email, phone' }).loginHintForms).toEqual(['email', 'phone']);
    expect(problems({ CIBA_LOGIN_HINT_FORMS: 'email,nickname' })).toEqual([expect.stringMatching(/^CIBA_LOGIN_HINT_FORMS: expected distinct forms/)]);
    expect(problems({ CIBA_LOGIN_HINT_FORMS: 'email,email' })).toHaveLength(1);
  });

  it('reads the directory: URL, bearer credential, timeout, cache time and its own allowed ranges', () => {
    expect(
      load({
        CIBA_LOGIN_HINT_DIRECTORY_URL: 'https://directory.corp.example/lookup',
        CIBA_LOGIN_HINT_DIRECTORY_TOKEN: 'directory-secret',
        CIBA_LOGIN_HINT_DIRECTORY_TIMEOUT_MS: '1500',
        CIBA_LOGIN_HINT_DIRECTORY_CACHE_SECONDS: '0',
        CIBA_LOGIN_HINT_DIRECTORY_ALLOWED_CIDRS: '10.20.0.0/16',
      }).directory,
    ).toEqual({ url: 'https://directory.corp.example/lookup', token: 'directory-secret', timeoutMs: 1500, cacheSeconds: 0, allowedCidrs: ['10.20.0.0/16'] });
    expect(load({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'https://d.example/' }).directory).toMatchObject({ token: null, timeoutMs: 3000, cacheSeconds: 60, allowedCidrs: [] });
  });

  it('the directory credential is a sensitive setting, never echoed in a configuration problem', () => {
    expect(SENSITIVE_SETTINGS).toContain('CIBA_LOGIN_HINT_DIRECTORY_TOKEN');
    const found = problems({ CIBA_LOGIN_HINT_DIRECTORY_TOKEN: 'top secret with spaces' });
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).not.toContain('top secret');
  });

  it('refuses a directory URL that is not http(s), and a credential without a directory', () => {
    expect(problems({ CIBA_LOGIN_HINT_DIRECTORY_URL: 'ftp://d.example/' })).toEqual([expect.stringMatching(/^CIBA_LOGIN_HINT_DIRECTORY_URL/)]);
    expect(problems({ CIBA_LOGIN_HINT_DIRECTORY_TOKEN: 'abc' })).toEqual(['CIBA_LOGIN_HINT_DIRECTORY_TOKEN: set CIBA_LOGIN_HINT_DIRECTORY_URL too']);
  });

  it('CIBA §7.1 login_hint_token: reads trusted issuers with a jwks_uri or an inline key set, the subject claim, audience and algorithms', () => {
    const issuers = load({
      CIBA_LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify([
        { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', subject_claim: 'email', audience: true },
        { issuer: 'https://hr.example', jwks: { keys: [publicJwk] }, audience: 'urn:ciba', algorithms: ['ES256'] },
      ]),
    }).loginHintTokenIssuers;
    expect(issuers).toEqual([
      { issuer: 'https://idp.example', keys: { jwksUri: 'https://idp.example/jwks' }, subjectClaim: 'email', audience: 'https://op.example', algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'] },
      { issuer: 'https://hr.example', keys: { jwks: { keys: [publicJwk] } }, subjectClaim: 'sub', audience: 'urn:ciba', algorithms: ['ES256'] },
    ]);
  });

  it('CIBA §7.1 login_hint_token: refuses HMAC or none algorithms, private keys, unknown subject claims, both or neither key sources, and repeated issuers', () => {
    const issuersProblems = (issuers: unknown) => problems({ CIBA_LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify(issuers) });
    const ok = { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks' };
    expect(issuersProblems([{ ...ok, algorithms: ['HS256'] }])).toHaveLength(1);
    expect(issuersProblems([{ ...ok, algorithms: ['none'] }])).toHaveLength(1);
    expect(issuersProblems([{ issuer: 'https://idp.example', jwks: { keys: [privateJwk] } }]).join()).toMatch(/private or secret key material/);
    expect(issuersProblems([{ ...ok, subject_claim: 'name' }])).toHaveLength(1);
    expect(issuersProblems([{ issuer: 'https://idp.example' }]).join()).toMatch(/exactly one of jwks_uri and jwks/);
    expect(issuersProblems([{ ...ok, jwks: { keys: [publicJwk] } }]).join()).toMatch(/exactly one of jwks_uri and jwks/);
    expect(issuersProblems([ok, ok])).toEqual(['CIBA_LOGIN_HINT_TOKEN_ISSUERS: an issuer appears twice']);
    expect(issuersProblems([{ ...ok, extra: 1 }])).toHaveLength(1);
    expect(problems({ CIBA_LOGIN_HINT_TOKEN_ISSUERS: '{not json' })).toEqual(['CIBA_LOGIN_HINT_TOKEN_ISSUERS: not valid JSON (expected an array of issuers)']);
  });
});

describe('bootstrap file: preferred_username (a CIBA §7.1 login_hint form)', () => {
  const users = (list: object[]) => parseBootstrap({ users: list });

  it('CIBA §7.1 reads a user\'s preferred_username', () => {
    expect(users([{ sub: 'carol', preferred_username: 'carol.k' }]).users[0]).toMatchObject({ preferred_username: 'carol.k' });
  });

  it('CIBA §7.1 refuses a username a login_hint would read as an email address or a phone number', () => {
    expect(() => users([{ sub: 'carol', preferred_username: 'carol@corp' }])).toThrow(/preferred_username must not contain @/);
    expect(() => users([{ sub: 'carol', preferred_username: '+15555550100' }])).toThrow(/preferred_username must not contain @/);
    expect(() => users([{ sub: 'carol', preferred_username: 'tel:carol' }])).toThrow(/preferred_username must not contain @/);
  });

  it('CIBA §7.1 refuses two users with one username (case-insensitively), and a username that is another user\'s sub', () => {
    expect(() => users([{ sub: 'a', preferred_username: 'Sam' }, { sub: 'b', preferred_username: 'sam' }])).toThrow(/a preferred_username appears twice/);
    expect(() => users([{ sub: 'a', preferred_username: 'Bob' }, { sub: 'bob' }])).toThrow(/a preferred_username is another user's sub/);
    expect(users([{ sub: 'ivan', preferred_username: 'ivan' }]).users).toHaveLength(1);
  });
});
