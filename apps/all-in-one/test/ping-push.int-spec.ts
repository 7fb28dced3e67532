import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { loadConfig, parseBootstrap } from '@ciba/config';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { waitFor, requestIdIn } from '@ciba/testing';
import { SecretHasher } from '@ciba/tokens';
import { CIBA, CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const halfHash = (value: string) => createHash('sha256').update(value).digest().subarray(0, 16).toString('base64url');

describe('ping and push token delivery (CIBA §10.2, §10.3, §12)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_CALLBACK_MAX_ATTEMPTS: '3' });
  });
  afterAll(async () => {
    await op.close();
  });

  /** A ping or push request for alice, answered on the device with `status`. */
  async function decided(client: typeof CLIENTS.ping, status: 'SUCCEED' | 'UNAUTHORIZED' | null, extra: Record<string, string> = {}) {
    const message = uniqueMessage(client.id);
    const cnt = `cnt-${randomBytes(12).toString('base64url')}`;
    const { authReqId, body } = await op.authorize({ binding_message: message, client_notification_token: cnt, ...extra }, client);
    if (status) {
      const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
      expect((await op.decide(decisionToken, status)).status).toBe(200);
    }
    return { authReqId, cnt, body };
  }

  const auditTypes = async (authReqId: string) => {
    const rows = await op.db.dataSource.query<{ type: string }[]>(
      'SELECT a.type FROM audit_records a JOIN auth_requests r ON r.id::text = a.request_id WHERE r.id = $1',
      [requestIdIn(authReqId)],
    );
    return rows.map((r) => r.type);
  };

  describe('§7.1 / §7.3 requests', () => {
    it('§7.1 ping and push requests require a client_notification_token', async () => {
      for (const client of [CLIENTS.ping, CLIENTS.push]) {
        const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, client);
        expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      }
    });

    it('§7.1 a client_notification_token longer than 1024 characters is refused', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', client_notification_token: 'a'.repeat(1025) }, CLIENTS.ping);
      expect(res.body['error']).toBe('invalid_request');
    });

    it('§7.3 push responses carry no interval; ping responses do', async () => {
      expect((await decided(CLIENTS.push, null)).body).not.toHaveProperty('interval');
      expect((await decided(CLIENTS.ping, null)).body['interval']).toBe(2);
    });
  });

  describe('§10.2 ping', () => {
    it('§10.2 on approval POSTs only the auth_req_id with the client notification token as bearer; the client then redeems', async () => {
      const { authReqId, cnt } = await decided(CLIENTS.ping, 'SUCCEED');
      const [callback] = await op.receiver.waitFor(authReqId);
      expect(callback.body).toEqual({ auth_req_id: authReqId });
      expect(callback.headers['authorization']).toBe(`Bearer ${cnt}`);
      expect(callback.headers['content-type']).toMatch(/^application\/json/);
      expect(callback.path).toBe('/cb');
      const tokens = await op.token(authReqId, CLIENTS.ping);
      expect(tokens.status).toBe(200);
      expect(tokens.body['id_token']).toEqual(expect.any(String));
    });

    it('§10.2 a denial is pinged too, and the token endpoint then says access_denied', async () => {
      const { authReqId } = await decided(CLIENTS.ping, 'UNAUTHORIZED');
      await op.receiver.waitFor(authReqId);
      expect((await op.token(authReqId, CLIENTS.ping)).body['error']).toBe('access_denied');
    });

    it('§10.2 expiry is pinged (CIBA_PING_ON_EXPIRY), and the token endpoint then says expired_token', async () => {
      const { authReqId } = await decided(CLIENTS.ping, null, { requested_expiry: '5' });
      op.clock.advance(6);
      await op.receiver.waitFor(authReqId);
      expect((await op.token(authReqId, CLIENTS.ping)).body['error']).toBe('expired_token');
    });
  });

  describe('§10.3 push', () => {
    it('§10.3.1 on approval POSTs the token response with auth_req_id; the ID token carries auth_req_id, at_hash and rt_hash', async () => {
      const { authReqId, cnt } = await decided(CLIENTS.push, 'SUCCEED', { scope: 'openid email offline_access' });
      const [callback] = await op.receiver.waitFor(authReqId);
      const body = callback.body;
      expect(callback.headers['authorization']).toBe(`Bearer ${cnt}`);
      expect(body).toMatchObject({ auth_req_id: authReqId, token_type: 'Bearer', access_token: expect.any(String), id_token: expect.any(String), refresh_token: expect.any(String) });
      const jwks = createLocalJWKSet((await (await fetch(`${op.url}/jwks`)).json()) as { keys: [] });
      const { payload } = await jwtVerify(String(body['id_token']), jwks, { issuer: op.url, audience: CLIENTS.push.id });
      expect(payload['urn:openid:params:jwt:claim:auth_req_id']).toBe(authReqId);
      expect(payload['at_hash']).toBe(halfHash(String(body['access_token'])));
      expect(payload['urn:openid:params:jwt:claim:rt_hash']).toBe(halfHash(String(body['refresh_token'])));
      expect(payload['email']).toBe('alice@example.com');
      expect(decodeProtectedHeader(String(body['access_token'])).typ).toBe('at+jwt');
      // The pushed refresh token works.
      const refreshed = await op.form('/token', { grant_type: 'refresh_token', refresh_token: String(body['refresh_token']) }, CLIENTS.push);
      expect(refreshed.status).toBe(200);
    });

    it('§10.3 a push client calling the token endpoint with the CIBA grant gets a clear error', async () => {
      const { authReqId } = await decided(CLIENTS.push, null);
      const res = await op.form('/token', { grant_type: CIBA, auth_req_id: authReqId }, CLIENTS.push);
      expect(res.body['error']).toBe('unauthorized_client');
      expect(String(res.body['error_description'])).toMatch(/push/);
    });

    it('§12 a denial is pushed as access_denied with the auth_req_id', async () => {
      const { authReqId } = await decided(CLIENTS.push, 'UNAUTHORIZED');
      const [callback] = await op.receiver.waitFor(authReqId);
      expect(callback.body).toEqual({ error: 'access_denied', error_description: expect.any(String), auth_req_id: authReqId });
    });

    it('§12 expiry is pushed as expired_token with the auth_req_id', async () => {
      const { authReqId } = await decided(CLIENTS.push, null, { requested_expiry: '5' });
      op.clock.advance(6);
      const [callback] = await op.receiver.waitFor(authReqId);
      expect(callback.body).toEqual({ error: 'expired_token', error_description: expect.any(String), auth_req_id: authReqId });
    });
  });

  describe('delivery', () => {
    it('a 503-then-200 endpoint receives exactly one successful delivery, honouring Retry-After', async () => {
      op.receiver.respond({ status: 503, headers: { 'retry-after': '1' } });
      const { authReqId } = await decided(CLIENTS.ping, 'SUCCEED');
      const calls = await op.receiver.waitFor(authReqId, 2);
      expect(calls.map((c) => c.status)).toEqual([503, 204]);
      await waitFor(async () => (await auditTypes(authReqId)).includes('auth_request.client_notified'));
      // Settled: nothing more arrives for it.
      expect(op.receiver.for(authReqId)).toHaveLength(2);
      const [row] = await op.db.dataSource.query<{ status: string; attempts: number }[]>(
        `SELECT d.status, d.attempts FROM callback_deliveries d JOIN auth_requests r ON r.id = d.request_id WHERE r.id = $1`,
        [requestIdIn(authReqId)],
      );
      expect(row).toEqual({ status: 'delivered', attempts: 2 });
    });

    it('a 401 endpoint is called exactly once, and the failure is audited with its reason', async () => {
      op.receiver.respond({ status: 401 });
      const { authReqId } = await decided(CLIENTS.push, 'SUCCEED');
      await op.receiver.waitFor(authReqId);
      await waitFor(async () => (await auditTypes(authReqId)).includes('auth_request.client_notification_failed'));
      expect(op.receiver.for(authReqId)).toHaveLength(1);
      const [audit] = await op.db.dataSource.query<{ payload: { reason: string; attempts: number } }[]>(
        `SELECT a.payload FROM audit_records a JOIN auth_requests r ON r.id::text = a.request_id WHERE r.id = $1 AND a.type = 'auth_request.client_notification_failed'`,
        [requestIdIn(authReqId)],
      );
      expect(audit.payload).toMatchObject({ reason: 'unauthorized/401', attempts: 1 });
    });

    it('a 301 is not followed: the redirect target is never called', async () => {
      op.receiver.respond({ status: 301, headers: { location: `${op.receiver.origin}/elsewhere` } });
      const { authReqId } = await decided(CLIENTS.ping, 'SUCCEED');
      await op.receiver.waitFor(authReqId);
      await waitFor(async () => (await auditTypes(authReqId)).includes('auth_request.client_notification_failed'));
      expect(op.receiver.received.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
      expect(op.receiver.for(authReqId)).toHaveLength(1);
    });

    it('gives up after the configured attempts on a failing endpoint, dead-lettered with the reason', async () => {
      op.receiver.respond({ status: 500, headers: { 'retry-after': '1' } }, { status: 500, headers: { 'retry-after': '1' } }, { status: 500, headers: { 'retry-after': '1' } });
      const { authReqId } = await decided(CLIENTS.ping, 'UNAUTHORIZED');
      await op.receiver.waitFor(authReqId, 3, 15_000);
      await waitFor(async () => (await auditTypes(authReqId)).includes('auth_request.client_notification_failed'), { timeoutMs: 15_000 });
      const [row] = await op.db.dataSource.query<{ status: string; last_error: string }[]>(
        `SELECT d.status, d.last_error FROM callback_deliveries d JOIN auth_requests r ON r.id = d.request_id WHERE r.id = $1`,
        [requestIdIn(authReqId)],
      );
      expect(row).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/attempts_exhausted/) });
      const dead = await op.db.dataSource.query<{ reason: string }[]>(`SELECT reason FROM dead_letters WHERE consumer = 'callback-dispatcher'`);
      expect(dead.length).toBeGreaterThan(0);
    }, 30_000);
  });

  describe('registration', () => {
    const pushClient = (endpoint: string) =>
      parseBootstrap({
        clients: [{ client_id: `push-${randomBytes(3).toString('hex')}`, client_secret: 'a-long-enough-secret', backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: endpoint }],
      });
    const load = (endpoint: string, env: Record<string, string> = {}) =>
      loadBootstrap(pushClient(endpoint), {
        clients: new TypeOrmClientRepository(op.db.dataSource),
        users: new TypeOrmUserRepository(op.db.dataSource),
        hasher: new SecretHasher(),
        signingAlgs: ['ES256', 'RS256'],
        endpoints: notificationEndpointPolicy(loadConfig({ CIBA_DATABASE_URL: op.db.url, ...env }, 'admin', [])),
      });

    it('§4 refuses a notification endpoint that is not HTTPS', async () => {
      await expect(load('http://rp.example.com/cb')).rejects.toThrow(/backchannel_client_notification_endpoint/);
    });

    it.each(['https://10.0.0.1/cb', 'https://169.254.169.254/latest', 'https://[::1]/cb', 'https://192.168.1.20/cb'])(
      'refuses a private, loopback or metadata address at registration (SSRF): %s',
      async (endpoint) => {
        await expect(load(endpoint)).rejects.toThrow(/backchannel_client_notification_endpoint/);
      },
    );

    it('accepts an internal address the operator allow-listed', async () => {
      await expect(load('https://10.20.0.5/cb', { CIBA_CALLBACK_ALLOWED_CIDRS: '10.20.0.0/16' })).resolves.toMatchObject({ clients: { written: 1 } });
    });
  });

  it('exposes delivery metrics: attempts by mode and outcome, and attempt latency', async () => {
    const res = await fetch(`${op.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/ciba_callback_attempts_total\{mode="ping",outcome="delivered"\} [1-9]/);
    expect(text).toMatch(/ciba_callback_attempts_total\{mode="push",outcome="permanent"\} [1-9]/);
    expect(text).toMatch(/ciba_callback_attempt_duration_seconds_count\{mode="ping"\} [1-9]/);
  });

  it('exposes the lag of every bus consumer (messages not yet acknowledged: waiting, in flight)', async () => {
    const text = await (await fetch(`${op.url}/metrics`)).text();
    for (const consumer of ['notifier', 'audit', 'callback-dispatcher', 'notifier-devices']) {
      expect(text).toMatch(new RegExp(`ciba_bus_consumer_lag\\{consumer="${consumer}",state="waiting"\\} \\d+`));
      expect(text).toMatch(new RegExp(`ciba_bus_consumer_lag\\{consumer="${consumer}",state="in_flight"\\} \\d+`));
    }
  });
});
