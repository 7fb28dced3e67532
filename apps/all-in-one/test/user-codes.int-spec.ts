import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { parseBootstrap } from '@ciba/config';
import { TypeOrmClientRepository, TypeOrmUserCodeStore, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { SecretHasher } from '@ciba/tokens';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const LIMIT = 3;
const LOCK_SECONDS = 600;
/** A client registered with backchannel_user_code_parameter (CIBA §4). */
const PIN_CLIENT = { id: 'pin-console', secret: 'pin-console-secret', method: 'basic' } as unknown as TestClient;

const outcome = (res: HttpResult) => ({ status: res.status, error: res.body['error'] });

describe('CIBA §7.1 user_code at bc-authorize', () => {
  let op: TestProvider;
  let verify: jest.SpiedFunction<SecretHasher['verify']>;
  let hasher: SecretHasher;
  /** Users with a code and the hints that name them, one per test so locks never carry over. */
  let n = 0;
  let user: string;

  const authorize = (params: Record<string, string>, client: TestClient = PIN_CLIENT) =>
    op.form('/bc-authorize', { scope: 'openid', binding_message: uniqueMessage('pin'), ...params }, client);

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_USER_CODE_ATTEMPT_LIMIT: String(LIMIT), CIBA_USER_CODE_WINDOW_SECONDS: '300', CIBA_USER_CODE_LOCK_SECONDS: String(LOCK_SECONDS) });
    hasher = op.app.get(SecretHasher);
    const users = Array.from({ length: 12 }, (_, i) => ({ sub: `pin-user-${i}`, email: `pin-user-${i}@example.com`, email_verified: true, user_code: `48${i}21` }));
    await loadBootstrap(
      parseBootstrap({
        clients: [{ client_id: PIN_CLIENT.id, client_secret: PIN_CLIENT.secret, backchannel_user_code_parameter: true }],
        users: [...users, { sub: 'no-code-user' }],
      }),
      {
        clients: new TypeOrmClientRepository(op.db.dataSource),
        users: new TypeOrmUserRepository(op.db.dataSource),
        userCodes: new TypeOrmUserCodeStore(op.db.dataSource),
        hasher: new SecretHasher(),
        signingAlgs: op.config.keys.signingAlgs,
        endpoints: notificationEndpointPolicy(op.config),
      },
    );
    verify = jest.spyOn(hasher, 'verify');
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });
  beforeEach(() => {
    user = `pin-user-${n++}`;
    verify.mockClear();
  });
  const codeOf = (sub: string) => `48${sub.slice('pin-user-'.length)}21`;
  /** The user's stored code hash: a check is a verification against it (a lock verifies against a dummy one). */
  const hashOf = async (sub: string) => (await op.db.dataSource.query<{ user_code_hash: string }[]>('SELECT user_code_hash FROM users WHERE sub = $1', [sub]))[0]?.user_code_hash;
  const checksAgainst = (hash: string | undefined, code: (value: string) => boolean) => verify.mock.calls.filter(([value, against]) => code(value) && against === hash);

  it('§7.1 the bootstrap file stores each user code as a salted scrypt hash, never the code', async () => {
    const rows = await op.db.dataSource.query<{ sub: string; user_code_hash: string }[]>(`SELECT sub, user_code_hash FROM users WHERE sub LIKE 'pin-user-%'`);
    expect(rows).toHaveLength(12);
    for (const row of rows) {
      expect(row.user_code_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
      expect(row.user_code_hash).not.toContain(codeOf(row.sub));
    }
    expect(new Set(rows.map((r) => r.user_code_hash.split('$')[4])).size).toBe(12);
  });

  it('§7.1 a client registered for user codes starts a flow with the right code, by any hint naming the user', async () => {
    const res = await authorize({ login_hint: `${user}@example.com`, user_code: codeOf(user) });
    expect(res.status).toBe(200);
    expect(typeof res.body['auth_req_id']).toBe('string');
    const stored = await op.db.dataSource.query<{ subject: string }[]>(`SELECT subject FROM auth_requests WHERE client_id = $1 ORDER BY created_at DESC LIMIT 1`, [PIN_CLIENT.id]);
    expect(stored[0]?.subject).toBe(user);
  });

  it('§7.1 a client registered for user codes gets missing_user_code without one', async () => {
    expect(outcome(await authorize({ login_hint: user }))).toEqual({ status: 400, error: 'missing_user_code' });
  });

  it('§13 a wrong user code is invalid_user_code, and no request is stored', async () => {
    const before = await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM auth_requests WHERE subject = $1`, [user]);
    expect(outcome(await authorize({ login_hint: user, user_code: '0000' }))).toEqual({ status: 400, error: 'invalid_user_code' });
    const after = await op.db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM auth_requests WHERE subject = $1`, [user]);
    expect(after).toEqual(before);
  });

  it('§13 a user with no code set answers invalid_user_code, whatever the code', async () => {
    expect(outcome(await authorize({ login_hint: 'no-code-user', user_code: '4821' }))).toEqual({ status: 400, error: 'invalid_user_code' });
  });

  it('§7.1 a user_code from a client not registered for user codes is ignored: never checked, never counted', async () => {
    const res = await authorize({ login_hint: 'alice', user_code: 'anything' }, CLIENTS.basic);
    expect(res.status).toBe(200);
    expect(verify).not.toHaveBeenCalledWith('anything', expect.anything());
  });

  it('§7.1 brute force hits the lock: after the limit even the right code answers invalid_user_code, without a check (the same work, on a dummy hash); the lock lifts after its time', async () => {
    for (let i = 0; i < LIMIT; i++) expect(outcome(await authorize({ login_hint: user, user_code: `000${i}` }))).toEqual({ status: 400, error: 'invalid_user_code' });
    verify.mockClear();
    expect(outcome(await authorize({ login_hint: user, user_code: codeOf(user) }))).toEqual({ status: 400, error: 'invalid_user_code' });
    expect(checksAgainst(await hashOf(user), (code) => code === codeOf(user))).toEqual([]);
    expect(verify.mock.calls.filter(([code]) => code === codeOf(user))).toHaveLength(1);
    op.clock.advance(LOCK_SECONDS + 1);
    expect((await authorize({ login_hint: user, user_code: codeOf(user) })).status).toBe(200);
  });

  it('§7.1 the lock is per user: another user with a code keeps working', async () => {
    for (let i = 0; i <= LIMIT; i++) await authorize({ login_hint: user, user_code: `000${i}` });
    const other = `pin-user-${n++}`;
    expect((await authorize({ login_hint: other, user_code: codeOf(other) })).status).toBe(200);
  });

  it('§7.1 the lock is atomic: many wrong codes in parallel (two at a time and a burst) run no more than the limit of checks', async () => {
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => authorize({ login_hint: i % 2 === 0 ? user : `${user}@example.com`, user_code: `11${i}` })));
    expect(burst.map(outcome)).toEqual(Array(12).fill({ status: 400, error: 'invalid_user_code' }));
    const checks = checksAgainst(await hashOf(user), (code) => /^11\d+$/.test(code));
    expect(checks).toHaveLength(LIMIT);
    // Two parallel requests with the right code once locked: both refused.
    const pair = await Promise.all([authorize({ login_hint: user, user_code: codeOf(user) }), authorize({ login_hint: user, user_code: codeOf(user) })]);
    expect(pair.map(outcome)).toEqual([
      { status: 400, error: 'invalid_user_code' },
      { status: 400, error: 'invalid_user_code' },
    ]);
  });

  it('§13 no user enumeration: a hint naming nobody answers as a wrong code does, after the same checks, and locks alike', async () => {
    const unknown = await authorize({ login_hint: 'nobody-here@example.com', user_code: '4821' });
    const wrong = await authorize({ login_hint: user, user_code: '0000' });
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: wrong.status, body: wrong.body });
    // One scrypt run each (client authentication's own verifications aside).
    expect(verify.mock.calls.filter(([code]) => code === '4821' || code === '0000')).toHaveLength(2);
    // A nonexistent user locks after the same number of attempts, so the lock says nothing either.
    for (let i = 1; i < LIMIT; i++) await authorize({ login_hint: 'nobody-here@example.com', user_code: `000${i}` });
    verify.mockClear();
    expect(outcome(await authorize({ login_hint: 'Nobody-Here@example.com', user_code: '4821' }))).toEqual({ status: 400, error: 'invalid_user_code' });
    // Locked like a user: one scrypt run, as for a locked known user and for a check.
    expect(verify.mock.calls.filter(([code]) => code === '4821')).toHaveLength(1);
  });

  it('hostile: huge, empty, NUL-carrying and repeated user_code values are 4xx OAuth answers, never 5xx', async () => {
    const cases: Record<string, string | string[]>[] = [
      { user_code: '9'.repeat(100_000) },
      { user_code: '' },
      { user_code: `${codeOf(user)}\u0000` },
      { user_code: '\u202e😀' },
      { user_code: [codeOf(user), codeOf(user)] },
    ];
    for (const extra of cases) {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: user, ...extra }, PIN_CLIENT);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof res.body['error']).toBe('string');
    }
  });
});
