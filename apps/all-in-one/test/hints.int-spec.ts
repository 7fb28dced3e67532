import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { User } from '@ciba/domain';
import { TypeOrmUserRepository } from '@ciba/persistence';
import { CLIENTS, type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const outcome = (res: HttpResult) => ({ status: res.status, error: res.body['error'], description: res.body['error_description'] });
const aUser = (sub: string, fields: Partial<User> = {}): User => ({
  sub,
  name: null,
  email: null,
  emailVerified: false,
  phoneNumber: null,
  phoneNumberVerified: false,
  channelPreference: null,
  ...fields,
});

const issuerKeys = await generateKeyPair('ES256', { extractable: true });
const issuerJwk = { ...(await exportJWK(issuerKeys.publicKey)), kid: 'hr-1' };
/** Three trusted issuers, each naming users by another claim; the key set inline in the configuration. */
const ISSUERS = [
  { issuer: 'https://hr.example', subject_claim: 'preferred_username' },
  { issuer: 'https://telco.example', subject_claim: 'phone_number' },
  { issuer: 'https://ids.example', subject_claim: 'sub' },
].map((i) => ({ ...i, jwks: { keys: [issuerJwk] }, algorithms: ['ES256'] }));
const loginHintToken = (iss: string, claims: Record<string, unknown>) =>
  new SignJWT({ iss, exp: Math.floor(Date.now() / 1000) + 600, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'hr-1' }).sign(issuerKeys.privateKey);

describe('CIBA §7.1 login_hint forms against PostgreSQL (sub, email, phone, username)', () => {
  let op: TestProvider;
  let users: TypeOrmUserRepository;

  const authorize = (loginHint: string) => op.form('/bc-authorize', { scope: 'openid', login_hint: loginHint, binding_message: uniqueMessage('hint') }, CLIENTS.basic);
  /** The subject of the request `res` created, read back from the database. */
  async function subjectOf(res: HttpResult): Promise<string> {
    expect(res.status).toBe(200);
    const rows = await op.db.dataSource.query<{ subject: string }[]>(`SELECT subject FROM auth_requests WHERE client_id = $1 ORDER BY created_at DESC LIMIT 1`, [CLIENTS.basic.id]);
    return rows[0].subject;
  }
  const count = async () => Number((await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM auth_requests`))[0].n);

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify(ISSUERS) });
    users = new TypeOrmUserRepository(op.db.dataSource);
    await users.upsert(aUser('carol', { preferredUsername: 'Carol.K', phoneNumber: '+44 (20) 7946-0000' }));
    await users.upsert(aUser('gina@example.org'));
    await users.upsert(aUser('helen', { email: 'gina@example.org' }));
    await users.upsert(aUser('+15550001'));
    await users.upsert(aUser('ivan', { preferredUsername: 'ivan' }));
    // One user's username is another's sub: written here past the bootstrap file's own check.
    await users.upsert(aUser('erin', { preferredUsername: 'frank' }));
    await users.upsert(aUser('frank'));
    await users.upsert(aUser('kim', { email: 'team@example.com' }));
    await users.upsert(aUser('lee', { email: 'TEAM@example.com' }));
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  it('§7.1 a username hint names its user, case-insensitively', async () => {
    expect(await subjectOf(await authorize('carol.k'))).toBe('carol');
    expect(await subjectOf(await authorize('CAROL.K'))).toBe('carol');
  });

  it('§7.1 a tel: URI (RFC 3966) and an E.164 number name the user with that phone number, separators ignored', async () => {
    expect(await subjectOf(await authorize('tel:+1-555-555-0100'))).toBe('alice');
    expect(await subjectOf(await authorize('+15555550100'))).toBe('alice');
    expect(await subjectOf(await authorize('tel:+44-20-7946-0000'))).toBe('carol');
  });

  it('§7.1 the sub and the email still name their users', async () => {
    expect(await subjectOf(await authorize('alice'))).toBe('alice');
    expect(await subjectOf(await authorize('ALICE@example.COM'))).toBe('alice');
  });

  it('§7.1 a user whose sub is also their own username is named by it', async () => {
    expect(await subjectOf(await authorize('ivan'))).toBe('ivan');
  });

  it('§7.1 precedence by form: a hint that looks like an email is matched as an email only, never as a sub', async () => {
    expect(await subjectOf(await authorize('gina@example.org'))).toBe('helen');
  });

  it('§7.1 precedence by form: a hint starting with + is a phone number only, never a sub', async () => {
    const before = await count();
    expect(outcome(await authorize('+15550001'))).toMatchObject({ status: 400, error: 'unknown_user_id' });
    expect(await count()).toBe(before);
  });

  it('§13 a hint naming one user by sub and another by username names nobody: unknown_user_id, nothing stored', async () => {
    const before = await count();
    expect(outcome(await authorize('frank'))).toEqual({ status: 400, error: 'unknown_user_id', description: 'the login_hint does not identify a known user' });
    expect(await count()).toBe(before);
    expect(await users.findByLoginHint('frank')).toBeNull();
  });

  it('§7.1 a sub is matched exactly and a username case-insensitively: FRANK is only erin\'s username', async () => {
    expect(await subjectOf(await authorize('FRANK'))).toBe('erin');
  });

  it('§13 an email address shared by two users names nobody', async () => {
    expect(outcome(await authorize('team@example.com'))).toMatchObject({ status: 400, error: 'unknown_user_id' });
  });

  it('§13 a malformed phone hint is invalid_request, naming the accepted forms', async () => {
    for (const hint of ['tel:+1-555-0100;ext=7', 'tel:555-0100', '+1 (555) CALL-NOW']) {
      expect(outcome(await authorize(hint))).toEqual({
        status: 400,
        error: 'invalid_request',
        description: 'login_hint: a phone number is E.164 (+ and up to 15 digits) or a tel: URI with a global number (RFC 3966), without parameters',
      });
    }
  });

  it('§7.1 an overlong login_hint is invalid_request, never looked up', async () => {
    expect(outcome(await authorize('a'.repeat(513)))).toMatchObject({ status: 400, error: 'invalid_request' });
  });

  const tokenAuthorize = (token: string) => op.form('/bc-authorize', { scope: 'openid', login_hint_token: token, binding_message: uniqueMessage('token') }, CLIENTS.basic);

  it('§7.1 login_hint_token: an issuer naming users by preferred_username reaches them by username only', async () => {
    expect(await subjectOf(await tokenAuthorize(await loginHintToken('https://hr.example', { preferred_username: 'CAROL.K' })))).toBe('carol');
    // frank is a sub and erin's username: read as a username, the claim names erin, never a sub.
    expect(await subjectOf(await tokenAuthorize(await loginHintToken('https://hr.example', { preferred_username: 'frank' })))).toBe('erin');
    expect(outcome(await tokenAuthorize(await loginHintToken('https://hr.example', { preferred_username: 'alice' })))).toEqual({
      status: 400,
      error: 'unknown_user_id',
      description: 'the login_hint_token does not identify a known user',
    });
  });

  it('§7.1 login_hint_token: an issuer naming users by phone_number reaches them by phone number', async () => {
    expect(await subjectOf(await tokenAuthorize(await loginHintToken('https://telco.example', { phone_number: '+1 555 555 0100' })))).toBe('alice');
    expect(outcome(await tokenAuthorize(await loginHintToken('https://telco.example', { phone_number: 'alice' })))).toMatchObject({ status: 400, error: 'unknown_user_id' });
  });

  it('§7.1 login_hint_token: an issuer naming users by sub reaches them by sub, exactly', async () => {
    expect(await subjectOf(await tokenAuthorize(await loginHintToken('https://ids.example', { sub: 'frank' })))).toBe('frank');
    expect(outcome(await tokenAuthorize(await loginHintToken('https://ids.example', { sub: 'nobody' })))).toMatchObject({ status: 400, error: 'unknown_user_id' });
  });

  it('§13 login_hint_token: an expired token is expired_login_hint_token, an HS256 one invalid_request; nothing stored', async () => {
    const before = await count();
    const expired = await loginHintToken('https://ids.example', { sub: 'frank', exp: Math.floor(Date.now() / 1000) - 3600 });
    expect(outcome(await tokenAuthorize(expired))).toEqual({ status: 400, error: 'expired_login_hint_token', description: 'login_hint_token has expired' });
    const hs256 = await new SignJWT({ iss: 'https://ids.example', sub: 'frank', exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'hr-1' })
      .sign(new TextEncoder().encode('a-guessable-shared-secret-of-32-bytes!'));
    expect(outcome(await tokenAuthorize(hs256))).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(await count()).toBe(before);
  });

  it('usernames are unique case-insensitively in PostgreSQL', async () => {
    await expect(users.upsert(aUser('carol-2', { preferredUsername: 'CAROL.k' }))).rejects.toThrow(/ux_users_username_lower/);
  });

  it('a user without a username reads back without one, and one with it reads back with it', async () => {
    expect(await users.findBySub('frank')).toEqual(aUser('frank'));
    expect(await users.findBySub('carol')).toMatchObject({ preferredUsername: 'Carol.K' });
  });
});

describe('CIBA §7.1 CIBA_LOGIN_HINT_FORMS narrows the login_hint forms', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_LOGIN_HINT_FORMS: 'email' });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  const authorize = (loginHint: string) => op.form('/bc-authorize', { scope: 'openid', login_hint: loginHint, binding_message: uniqueMessage('forms') }, CLIENTS.basic);

  it('§13 a hint in a form the deployment does not accept is unknown_user_id, saying which form', async () => {
    expect(outcome(await authorize('alice'))).toEqual({ status: 400, error: 'unknown_user_id', description: 'login_hint: this provider does not identify users by sub or username' });
    expect(outcome(await authorize('tel:+15555550100'))).toEqual({ status: 400, error: 'unknown_user_id', description: 'login_hint: this provider does not identify users by phone number' });
  });

  it('§7.1 the accepted form still names its user', async () => {
    expect((await authorize('alice@example.com')).status).toBe(200);
  });

  it('§7.1 without a trusted issuer, login_hint_token is refused as unsupported', async () => {
    const token = await loginHintToken('https://ids.example', { sub: 'alice' });
    expect(outcome(await op.form('/bc-authorize', { scope: 'openid', login_hint_token: token, binding_message: uniqueMessage('forms') }, CLIENTS.basic))).toEqual({
      status: 400,
      error: 'invalid_request',
      description: 'login_hint_token is not supported by this provider; use login_hint or id_token_hint',
    });
  });
});
