import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadBootstrap } from '@ciba/platform';
import { CIBA, bootstrapDeps, type TestClient, type TestProvider, startTestProvider, testBootstrap, uniqueMessage } from './provider-harness.js';

const INITIAL_ACCESS_TOKEN = randomBytes(32).toString('base64url');
const SECOND_INITIAL_ACCESS_TOKEN = randomBytes(32).toString('base64url');
const FAILURE_LIMIT = 4;

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(url: string, init: { method?: string; token?: string | null; json?: unknown; body?: string; contentType?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const res = await fetch(url, { method: init.method ?? 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

describe('dynamic client registration (RFC 7591) and management (RFC 7592) on the all-in-one provider', () => {
  let op: TestProvider;
  const register = (json: unknown, token: string | null = INITIAL_ACCESS_TOKEN) => call(`${op.url}/register`, { token, json });
  const asClient = (info: Record<string, unknown>): TestClient => ({ id: String(info['client_id']), secret: String(info['client_secret']), method: 'basic' }) as unknown as TestClient;
  const count = async (sql: string, params: unknown[]) => Number((await op.db.dataSource.query<{ n: string }[]>(sql, params))[0].n);

  beforeAll(async () => {
    op = await startTestProvider({
      CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: `${INITIAL_ACCESS_TOKEN} ${SECOND_INITIAL_ACCESS_TOKEN}`,
      CIBA_CLIENT_AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT),
      CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '1000',
    });
  });

  afterAll(async () => {
    await op.close();
  });

  it('RFC 8414 §2 discovery advertises registration_endpoint while registration is enabled', async () => {
    const doc = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc['registration_endpoint']).toBe(`${op.url}/register`);
  });

  it('RFC 7591 §3.2.1 registers a client (201, no-store), stores only digests, and the client runs a full poll flow', async () => {
    const res = await register({ client_name: 'Registered Kiosk', scope: 'openid profile offline_access', grant_types: [CIBA, 'refresh_token'], redirect_uris: ['https://rp.example/cb'] });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const info = res.body;
    expect(info).toMatchObject({
      client_name: 'Registered Kiosk',
      token_endpoint_auth_method: 'client_secret_basic',
      backchannel_token_delivery_mode: 'poll',
      client_secret_expires_at: 0,
      registration_client_uri: `${op.url}/register/${String(info['client_id'])}`,
    });
    expect(info['client_secret']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(info['registration_access_token']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(typeof info['client_id_issued_at']).toBe('number');
    expect(info).not.toHaveProperty('redirect_uris');

    const [stored] = await op.db.dataSource.query<{ registration_access_token_hash: string; metadata: Record<string, unknown> }[]>(
      'SELECT registration_access_token_hash, metadata FROM client_registrations WHERE client_id = $1',
      [info['client_id']],
    );
    expect(stored.registration_access_token_hash).toBe(sha256(String(info['registration_access_token'])));
    expect(JSON.stringify(stored)).not.toContain(String(info['client_secret']));
    const [client] = await op.db.dataSource.query<{ client_secret_hash: string }[]>('SELECT client_secret_hash FROM clients WHERE client_id = $1', [info['client_id']]);
    expect(client.client_secret_hash).not.toContain(String(info['client_secret']));

    const message = uniqueMessage('dcr');
    const { authReqId } = await op.authorize({ scope: 'openid profile offline_access', binding_message: message }, asClient(info));
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const tokens = await op.token(authReqId, asClient(info));
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile offline_access' });
    expect(typeof tokens.body['refresh_token']).toBe('string');
  });

  it('RFC 7591 §3 accepts any of the configured initial access tokens', async () => {
    expect((await register({}, SECOND_INITIAL_ACCESS_TOKEN)).status).toBe(201);
  });

  it('RFC 7591 §3 / RFC 6750 §3.1 no initial access token: 401 with a Bearer challenge, nothing stored', async () => {
    const before = await count('SELECT count(*) AS n FROM clients', []);
    const res = await register({ client_name: 'no token' }, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ciba"');
    const wrong = await register({ client_name: 'wrong token' }, randomBytes(32).toString('base64url'));
    expect({ status: wrong.status, error: wrong.body['error'] }).toEqual({ status: 401, error: 'invalid_token' });
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await count('SELECT count(*) AS n FROM clients', [])).toBe(before);
  });

  it('RFC 7591 §3.2.2 invalid metadata is 400 invalid_client_metadata naming the field; nothing stored', async () => {
    const before = await count('SELECT count(*) AS n FROM clients', []);
    const res = await register({ backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://10.1.2.3/cb' });
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_client_metadata' });
    expect(res.body['error_description']).toMatch(/^backchannel_client_notification_endpoint: /);
    const statement = await register({ software_statement: 'eyJhbGciOiJub25lIn0.e30.' });
    expect({ status: statement.status, error: statement.body['error'] }).toEqual({ status: 400, error: 'unapproved_software_statement' });
    expect(await count('SELECT count(*) AS n FROM clients', [])).toBe(before);
  });

  it('RFC 7591 §3.1 hostile bodies: malformed JSON, not JSON, an array, oversized: 4xx, never 500', async () => {
    const malformed = await call(`${op.url}/register`, { token: INITIAL_ACCESS_TOKEN, body: '{"client_name": ' });
    expect({ status: malformed.status, error: malformed.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
    const form = await call(`${op.url}/register`, { token: INITIAL_ACCESS_TOKEN, body: 'client_name=x', contentType: 'application/x-www-form-urlencoded' });
    expect({ status: form.status, error: form.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
    const array = await register([{ client_name: 'x' }]);
    expect({ status: array.status, error: array.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
    const oversized = await register({ client_name: 'big', filler: 'x'.repeat(70 * 1024) });
    expect({ status: oversized.status, error: oversized.body['error'] }).toEqual({ status: 413, error: 'invalid_request' });
    const nul = await call(`${op.url}/register`, { token: INITIAL_ACCESS_TOKEN, body: '{"client_name":"a\\u0000b"}' });
    expect({ status: nul.status, error: nul.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
  });

  it('RFC 7592 §2.1 reads the registration with its token; another client’s token, a bootstrap or unknown client: 401 invalid_token', async () => {
    const a = (await register({ client_name: 'Reader A' })).body;
    const b = (await register({ client_name: 'Reader B' })).body;
    const uri = String(a['registration_client_uri']);
    const read = await call(uri, { method: 'GET', token: String(a['registration_access_token']) });
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect(read.body).toMatchObject({ client_id: a['client_id'], client_name: 'Reader A', registration_access_token: a['registration_access_token'], registration_client_uri: uri });
    expect(read.body).not.toHaveProperty('client_secret');

    for (const [target, token] of [
      [uri, String(b['registration_access_token'])],
      [`${op.url}/register/console-basic`, String(a['registration_access_token'])],
      [`${op.url}/register/no-such-client`, String(a['registration_access_token'])],
      [`${op.url}/register/a%00b`, String(a['registration_access_token'])],
      [`${op.url}/register/${'x'.repeat(300)}`, String(a['registration_access_token'])],
      [`${op.url}/register/${encodeURIComponent('é ü')}`, String(a['registration_access_token'])],
    ] as const) {
      const refused = await call(target, { method: 'GET', token });
      expect({ status: refused.status, error: refused.body['error'], description: refused.body['error_description'] }).toEqual({
        status: 401,
        error: 'invalid_token',
        description: 'the registration access token is invalid',
      });
    }
  });

  it('RFC 7592 §2.2 replaces the metadata under the same checks; the secret and the token stay', async () => {
    const info = (await register({ client_name: 'Updatable', scope: 'openid' })).body;
    const uri = String(info['registration_client_uri']);
    const token = String(info['registration_access_token']);
    const put = (json: unknown) => call(uri, { method: 'PUT', token, json });

    const updated = await put({ client_id: info['client_id'], client_name: 'Updated', scope: 'openid profile', registration_access_token: token, client_id_issued_at: info['client_id_issued_at'] });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ client_id: info['client_id'], client_name: 'Updated', scope: 'openid profile', registration_access_token: token });
    expect((await call(uri, { method: 'GET', token })).body).toMatchObject({ client_name: 'Updated', scope: 'openid profile' });
    // Still authenticates with the secret issued at registration.
    const { authReqId } = await op.authorize({ scope: 'openid profile', binding_message: uniqueMessage('upd') }, asClient(info));
    expect(authReqId).toBeTruthy();
    expect((await put({ client_id: info['client_id'], client_secret: info['client_secret'], client_name: 'With secret' })).status).toBe(200);

    const refusals: [unknown, number, string, RegExp][] = [
      [{ client_name: 'no id' }, 400, 'invalid_request', /^client_id/],
      [{ client_id: 'someone-else' }, 400, 'invalid_request', /^client_id/],
      [{ client_id: info['client_id'], client_secret: 'a-secret-the-client-chose-itself' }, 400, 'invalid_client_metadata', /^client_secret/],
      [{ client_id: info['client_id'], token_endpoint_auth_method: 'client_secret_post' }, 400, 'invalid_client_metadata', /^token_endpoint_auth_method/],
      [{ client_id: info['client_id'], backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'https://169.254.169.254/cb' }, 400, 'invalid_client_metadata', /^backchannel_client_notification_endpoint/],
      [{ client_id: info['client_id'], grant_types: ['client_credentials'] }, 400, 'invalid_client_metadata', /^grant_types/],
    ];
    for (const [json, status, error, description] of refusals) {
      const res = await put(json);
      expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
      expect(String(res.body['error_description'])).toMatch(description);
    }
    expect((await call(uri, { method: 'GET', token })).body).toMatchObject({ client_name: 'With secret', backchannel_token_delivery_mode: 'poll' });
  });

  it('RFC 7592 §2.3 deletes the client (204): it can no longer authenticate, its requests and refresh tokens are gone', async () => {
    const info = (await register({ client_name: 'Deletable', scope: 'openid offline_access', grant_types: [CIBA, 'refresh_token'] })).body;
    const client = asClient(info);
    const message = uniqueMessage('del');
    const { authReqId } = await op.authorize({ scope: 'openid offline_access', binding_message: message }, client);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    await op.decide(decisionToken, 'SUCCEED');
    const tokens = await op.token(authReqId, client);
    expect(tokens.status).toBe(200);
    const pending = await op.authorize({ binding_message: uniqueMessage('pending') }, client);
    expect(pending.authReqId).toBeTruthy();

    const uri = String(info['registration_client_uri']);
    const token = String(info['registration_access_token']);
    const deleted = await call(uri, { method: 'DELETE', token });
    expect(deleted.status).toBe(204);

    const bc = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, client);
    expect({ status: bc.status, error: bc.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
    const refresh = await op.form('/token', { grant_type: 'refresh_token', refresh_token: String(tokens.body['refresh_token']) }, client);
    expect({ status: refresh.status, error: refresh.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
    expect(await count('SELECT count(*) AS n FROM auth_requests WHERE client_id = $1', [client.id])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM refresh_tokens WHERE client_id = $1', [client.id])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM client_registrations WHERE client_id = $1', [client.id])).toBe(0);
    // The token is dead with its client: a second delete and a read are 401.
    expect((await call(uri, { method: 'DELETE', token })).status).toBe(401);
    expect((await call(uri, { method: 'GET', token })).status).toBe(401);
  });

  it('RFC 7592 §2.3 a client deleted under a replica that still has it cached: bc-authorize is 401 invalid_client, never a 500', async () => {
    const info = (await register({ client_name: 'Deleted elsewhere', scope: 'openid' })).body;
    const client = asClient(info);
    // Authenticated once here, so this process holds the client (as another replica would after a delete elsewhere).
    expect((await op.authorize({ binding_message: uniqueMessage('cached') }, client)).authReqId).toBeTruthy();
    await op.db.dataSource.query('DELETE FROM clients WHERE client_id = $1', [client.id]);
    const bc = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, client);
    expect({ status: bc.status, error: bc.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('RFC 7592 §2 a bootstrap client cannot be deleted through the registration endpoint', async () => {
    const a = (await register({ client_name: 'Attacker' })).body;
    const res = await call(`${op.url}/register/console-basic`, { method: 'DELETE', token: String(a['registration_access_token']) });
    expect(res.status).toBe(401);
    expect(await count('SELECT count(*) AS n FROM clients WHERE client_id = $1', ['console-basic'])).toBe(1);
  });

  it('a bootstrap reload keeps registered clients and their registrations', async () => {
    const info = (await register({ client_name: 'Survivor' })).body;
    await loadBootstrap(testBootstrap(op.receiver.origin), bootstrapDeps(op));
    const read = await call(String(info['registration_client_uri']), { method: 'GET', token: String(info['registration_access_token']) });
    expect(read.body).toMatchObject({ client_id: info['client_id'], client_name: 'Survivor' });
  });

  it('RFC 6749 §10.10 failed registration access tokens are throttled per client: then 429 with Retry-After, even for the right token', async () => {
    const info = (await register({ client_name: 'Guessed' })).body;
    const uri = String(info['registration_client_uri']);
    for (let i = 0; i < FAILURE_LIMIT; i++) expect((await call(uri, { method: 'GET', token: randomBytes(32).toString('base64url') })).status).toBe(401);
    const throttled = await call(uri, { method: 'GET', token: String(info['registration_access_token']) });
    expect({ status: throttled.status, error: throttled.body['error'] }).toEqual({ status: 429, error: 'invalid_client' });
    expect(throttled.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('RFC 7592 §2 other methods are 405', async () => {
    expect((await call(`${op.url}/register`, { method: 'GET' })).status).toBe(405);
    expect((await call(`${op.url}/register/anything`, { method: 'POST', token: INITIAL_ACCESS_TOKEN, json: {} })).status).toBe(405);
  });
});

describe('dynamic client registration turned off or open', () => {
  it('RFC 7591 §3 off by default: /register is 404 and discovery has no registration_endpoint', async () => {
    const op = await startTestProvider();
    try {
      expect((await call(`${op.url}/register`, { token: INITIAL_ACCESS_TOKEN, json: {} })).status).toBe(404);
      expect((await call(`${op.url}/register/console-basic`, { method: 'GET', token: INITIAL_ACCESS_TOKEN })).status).toBe(404);
      const doc = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(doc).not.toHaveProperty('registration_endpoint');
    } finally {
      await op.close();
    }
  }, 30_000);

  it('RFC 7591 §3 `open` (development): registration without an initial access token', async () => {
    const op = await startTestProvider({ CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: 'open' });
    try {
      const res = await call(`${op.url}/register`, { json: { client_name: 'Open' } });
      expect(res.status).toBe(201);
      expect(res.body['client_name']).toBe('Open');
    } finally {
      await op.close();
    }
  }, 30_000);
});
