import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TypeOrmUserRepository } from '@ciba/persistence';
import { requestIdIn } from '@ciba/testing';
import { CIBA, CLIENTS, type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** The poll interval this provider hands out (seconds). */
const INTERVAL = 2;


/** CIBA §11 / RFC 6749 §5.2: status, code, a body of exactly {error, error_description}, never cached. */
function expectError(res: HttpResult, status: number, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(typeof res.body['error_description']).toBe('string');
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('token endpoint (CIBA §10.1, §11; RFC 6749 §3.2, §5)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_POLL_INTERVAL: String(INTERVAL) });
  });
  afterAll(async () => {
    await op.close();
  });

  /** A pending request whose device notification has arrived; returns its auth_req_id and decision token. */
  async function notifiedRequest(params: Record<string, string> = {}, client = CLIENTS.basic) {
    const message = uniqueMessage('token');
    const { authReqId } = await op.authorize({ binding_message: message, ...params }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    return { authReqId, decisionToken };
  }

  async function decidedRequest(status: 'SUCCEED' | 'UNAUTHORIZED' | 'CANCELLED', params: Record<string, string> = {}): Promise<string> {
    const { authReqId, decisionToken } = await notifiedRequest(params);
    const decided = await op.decide(decisionToken, status);
    expect(decided.status).toBe(200);
    return authReqId;
  }


  describe('§11 pending and slow_down', () => {
    it('§10.1/§11 authorization_pending (400) before the user decides, body exactly {error, error_description}, no-store', async () => {
      const { authReqId } = await notifiedRequest();
      const res = await op.token(authReqId);
      expectError(res, 400, 'authorization_pending');
      expect(res.headers.get('pragma')).toBe('no-cache');
    });

    it('§11 slow_down when polled sooner than the interval; each too-soon poll grows the interval by 5 s; pending again after it', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('slow') });
      expectError(await op.token(authReqId), 400, 'authorization_pending');

      const first = await op.token(authReqId);
      expectError(first, 400, 'slow_down');
      expect(first.body['error_description']).toContain(`${INTERVAL + 5} seconds`);
      expectError(await op.token(authReqId), 400, 'slow_down'); // interval now INTERVAL + 10

      // The original interval has passed, but the grown one has not: still too soon (and +5 again).
      op.clock.advance(INTERVAL);
      const again = await op.token(authReqId);
      expectError(again, 400, 'slow_down');
      expect(again.body['error_description']).toContain(`${INTERVAL + 15} seconds`);

      // Once the grown interval has passed since the last accepted poll, polling is welcome again.
      op.clock.advance(15);
      expectError(await op.token(authReqId), 400, 'authorization_pending');
    });

    it('§11 slow_down enforced atomically: 10 concurrent polls right after a first poll are all slow_down, and all count', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('burst') });
      expectError(await op.token(authReqId), 400, 'authorization_pending');
      const results = await Promise.all(Array.from({ length: 10 }, () => op.token(authReqId)));
      for (const res of results) expectError(res, 400, 'slow_down');
      // Ten increments: the interval is INTERVAL + 50, so INTERVAL + 49 seconds later is still too soon…
      op.clock.advance(INTERVAL + 49);
      expectError(await op.token(authReqId), 400, 'slow_down');
      // …and that poll grew it to INTERVAL + 55.
      op.clock.advance(6);
      expectError(await op.token(authReqId), 400, 'authorization_pending');
    });

    it('§11 slow_down enforced atomically: 10 concurrent polls on a fresh request give one authorization_pending and 9 slow_down', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('fresh burst') });
      const results = await Promise.all(Array.from({ length: 10 }, () => op.token(authReqId)));
      for (const res of results) expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
      const errors = results.map((res) => String(res.body['error'])).sort();
      expect(errors).toEqual(['authorization_pending', ...Array.from({ length: 9 }, () => 'slow_down')]);
      op.clock.advance(INTERVAL + 9 * 5);
      expectError(await op.token(authReqId), 400, 'authorization_pending');
    });
  });

  describe('§11 decided, expired and unknown requests', () => {
    it('§11 access_denied after the device answers UNAUTHORIZED', async () => {
      const authReqId = await decidedRequest('UNAUTHORIZED');
      expectError(await op.token(authReqId), 400, 'access_denied');
    });

    it('§11 access_denied after the device answers CANCELLED', async () => {
      const authReqId = await decidedRequest('CANCELLED');
      expectError(await op.token(authReqId), 400, 'access_denied');
    });

    it('§11 expired_token once the request has expired (requested_expiry=1)', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('expiring'), requested_expiry: '1' });
      expectError(await op.token(authReqId), 400, 'authorization_pending');
      op.clock.advance(2); // past the 1-second lifetime
      expectError(await op.token(authReqId), 400, 'expired_token');
    });

    it('§11 invalid_grant for an unknown auth_req_id', async () => {
      expectError(await op.token('no-such-auth-req-id-0123456789abcdefghijkl'), 400, 'invalid_grant');
    });

    it('§11 invalid_grant for an auth_req_id issued to another client, which leaves the request untouched', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('foreign') }, CLIENTS.basic);
      expectError(await op.token(authReqId, CLIENTS.post), 400, 'invalid_grant');
      // The other client's attempt was not recorded as a poll of this request.
      expectError(await op.token(authReqId, CLIENTS.basic), 400, 'authorization_pending');
    });

    it('§11 invalid_grant for an approved request issued to another client, and its owner still gets the tokens', async () => {
      const authReqId = await decidedRequest('SUCCEED');
      expectError(await op.token(authReqId, CLIENTS.post), 400, 'invalid_grant');
      expect((await op.token(authReqId, CLIENTS.basic)).status).toBe(200);
    });

    it('§10.1 tokens on approval (no-store), then invalid_grant for a second redemption', async () => {
      const authReqId = await decidedRequest('SUCCEED');
      const first = await op.token(authReqId);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ token_type: 'Bearer', scope: 'openid' });
      expect(typeof first.body['access_token']).toBe('string');
      expect(typeof first.body['id_token']).toBe('string');
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.headers.get('pragma')).toBe('no-cache');
      expectError(await op.token(authReqId), 400, 'invalid_grant');
    });

    it('§10.1 tokens that cannot be minted (the end-user was removed meanwhile) undo the redemption: the request stays approved, and a later poll gets them', async () => {
      const sub = `leaver-${uniqueMessage('u').replace(/\W/g, '').slice(-10)}`;
      const users = new TypeOrmUserRepository(op.db.dataSource);
      const leaver = { sub, name: null, email: null, emailVerified: false, phoneNumber: null, phoneNumberVerified: false, channelPreference: null };
      await users.upsert(leaver);
      const authReqId = await decidedRequest('SUCCEED', { login_hint: sub });
      await op.db.dataSource.query('DELETE FROM users WHERE sub = $1', [sub]);

      expectError(await op.token(authReqId), 400, 'invalid_grant');
      const status = async () => (await op.db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]))[0].status;
      expect(await status()).toBe('approved');

      await users.upsert(leaver);
      expect((await op.token(authReqId)).status).toBe(200);
      expect(await status()).toBe('redeemed');
    });

    it('§10.1 tokens are issued exactly once: 50 concurrent token requests on one approved request give one 200', async () => {
      const authReqId = await decidedRequest('SUCCEED');
      const results = await Promise.all(Array.from({ length: 50 }, () => op.token(authReqId)));
      const succeeded = results.filter((res) => res.status === 200);
      expect(succeeded).toHaveLength(1);
      const failed = results.filter((res) => res.status !== 200);
      expect(failed).toHaveLength(49);
      for (const res of failed) {
        expect(res.status).toBe(400);
        expect(['invalid_grant', 'slow_down']).toContain(res.body['error']);
      }
      const rows: { status: string }[] = await op.db.dataSource.query('SELECT status FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
      expect(rows[0].status).toBe('redeemed');
    });
  });

  describe('RFC 6749 §5.2 request errors', () => {
    it('§5.2 unauthorized_client for a client not registered for the CIBA grant', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('no ciba') });
      expectError(await op.token(authReqId, CLIENTS.noCiba), 400, 'unauthorized_client');
    });

    it('§5.2 unsupported_grant_type for the password grant', async () => {
      expectError(await op.form('/token', { grant_type: 'password', username: 'alice', password: 'secret' }), 400, 'unsupported_grant_type');
    });

    it('§10.1 invalid_request when auth_req_id is missing (or empty)', async () => {
      expectError(await op.form('/token', { grant_type: CIBA }), 400, 'invalid_request');
      expectError(await op.form('/token', { grant_type: CIBA, auth_req_id: '' }), 400, 'invalid_request');
    });

    it('§3.1 a repeated parameter is invalid_request', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('repeat') });
      expectError(await op.form('/token', { grant_type: CIBA, auth_req_id: [authReqId, authReqId] }), 400, 'invalid_request');
      expectError(await op.form('/token', { grant_type: [CIBA, CIBA], auth_req_id: authReqId }), 400, 'invalid_request');
      // Nothing was polled by the rejected requests.
      expectError(await op.token(authReqId), 400, 'authorization_pending');
    });
  });

  describe('RFC 6749 §2.3.1 client authentication', () => {
    const params = () => ({ grant_type: CIBA, auth_req_id: 'any-auth-req-id' });

    it('§2.3.1 a wrong secret is 401 invalid_client with a Basic challenge', async () => {
      const res = await op.form('/token', params(), { ...CLIENTS.basic, secret: 'not-the-secret' });
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('§2.3.1 a wrong client_secret_post secret is 401 invalid_client', async () => {
      expectError(await op.form('/token', params(), { ...CLIENTS.post, secret: 'not-the-secret' }), 401, 'invalid_client');
    });

    it('§2.3.1 an unknown client is 401 invalid_client', async () => {
      const res = await op.form('/token', params(), { id: 'nobody', secret: 'whatever-secret', method: 'basic' });
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('§2.3.1 a client registered for client_secret_post that authenticates with Basic is 401 invalid_client', async () => {
      expectError(await op.form('/token', params(), { ...CLIENTS.post, method: 'basic' }), 401, 'invalid_client');
    });

    it('§2.3.1 a request without client credentials is 401 invalid_client', async () => {
      expectError(await op.form('/token', params(), null), 401, 'invalid_client');
    });
  });

  describe('§3.2 request format', () => {
    it('§3.2 only POST is allowed: GET is 405 with Allow: POST', async () => {
      const res = await fetch(`${op.url}/token`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('§3.2 a JSON body is 400 invalid_request', async () => {
      const { authReqId } = await op.authorize({ binding_message: uniqueMessage('json') });
      const res = await fetch(`${op.url}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`).toString('base64')}`,
        },
        body: JSON.stringify({ grant_type: CIBA, auth_req_id: authReqId }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body['error']).toBe('invalid_request');
      expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });
  });
});
