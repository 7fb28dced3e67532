import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requestIdIn } from '@ciba/testing';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

describe('backchannel authentication endpoint', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_MAX_EXPIRES_IN: '600', CIBA_DEFAULT_EXPIRES_IN: '120', CIBA_POLL_INTERVAL: '5' });
  });
  afterAll(async () => {
    await op.close();
  });

  const expectError = (res: { status: number; body: Record<string, unknown> }, status: number, error: string) => {
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
    expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  };

  describe('§7.3 successful response', () => {
    it('§7.3 returns a URL-safe auth_req_id with at least 160 bits of entropy, expires_in and interval, not cacheable', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' });
      expect(res.status).toBe(200);
      expect(res.body['auth_req_id']).toMatch(/^[A-Za-z0-9_-]{27,}$/);
      expect(res.body['expires_in']).toBe(120);
      expect(res.body['interval']).toBe(5);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('§7.3 issues a distinct auth_req_id per request', async () => {
      const ids = await Promise.all(Array.from({ length: 20 }, () => op.authorize().then((r) => r.authReqId)));
      expect(new Set(ids).size).toBe(20);
    });
  });

  describe('§7.1 client authentication', () => {
    it('§7.1 accepts client_secret_basic and client_secret_post for clients registered with each', async () => {
      expect((await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, CLIENTS.basic)).status).toBe(200);
      expect((await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, CLIENTS.post)).status).toBe(200);
    });

    it('§7.1 rejects a wrong secret with 401 invalid_client and a Basic challenge', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, { ...CLIENTS.basic, secret: 'wrong-secret' });
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('§7.1 rejects an unknown client, missing credentials and the wrong method with 401 invalid_client', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, { id: 'nobody', secret: 'whatever-secret', method: 'basic' }), 401, 'invalid_client');
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, null), 401, 'invalid_client');
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, { ...CLIENTS.basic, method: 'post' }), 401, 'invalid_client');
    });

    it('§7.1 a client not registered for the CIBA grant is unauthorized_client', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, CLIENTS.noCiba), 400, 'unauthorized_client');
    });
  });

  describe('§7.1 request format', () => {
    it('§7.1 only POST is allowed (405 with Allow)', async () => {
      const res = await fetch(`${op.url}/bc-authorize`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('§7.1 the body must be form-encoded', async () => {
      const res = await fetch(`${op.url}/bc-authorize`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`).toString('base64')}`,
        },
        body: JSON.stringify({ scope: 'openid', login_hint: 'alice' }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('§7.1 a repeated parameter is invalid_request', async () => {
      expectError(await op.form('/bc-authorize', { scope: ['openid', 'openid'], login_hint: 'alice' }), 400, 'invalid_request');
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: ['alice', 'bob'] }), 400, 'invalid_request');
    });

    it('§7.1 scope is required and must contain openid', async () => {
      expectError(await op.form('/bc-authorize', { login_hint: 'alice' }), 400, 'invalid_request');
      expectError(await op.form('/bc-authorize', { scope: 'profile', login_hint: 'alice' }), 400, 'invalid_request');
    });

    it('§7.1 a scope the client is not registered for is invalid_scope', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid email', login_hint: 'alice' }, CLIENTS.post), 400, 'invalid_scope');
    });

    it('§7.1 signed request objects are refused clearly', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', request: 'eyJhbGciOiJub25lIn0.e30.' }), 400, 'invalid_request');
    });
  });

  describe('§7.1 hints', () => {
    it('§7.1 rejects two hints', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', id_token_hint: 'x.y.z' }), 400, 'invalid_request');
    });

    it('§7.1 rejects a request without any hint', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid' }), 400, 'invalid_request');
    });

    it.each([
      ['sub', 'alice'],
      ['email, case-insensitively', 'ALICE@example.com'],
      ['phone number', '+15555550100'],
    ])('§7.1 login_hint resolves the user by %s', async (_how, hint) => {
      const message = uniqueMessage('hint');
      await op.authorize({ login_hint: hint, binding_message: message });
      const { body } = await op.notification((b) => b['binding_message'] === message);
      expect(body['login_hint']).toBe('alice');
    });

    it('§13 an unknown login_hint is unknown_user_id', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'mallory@example.com' }), 400, 'unknown_user_id');
    });

    it('§7.1 login_hint_token is not supported and says so', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint_token: 'eyJ.eyJ.sig' });
      expectError(res, 400, 'invalid_request');
      expect(res.body['error_description']).toMatch(/login_hint_token/);
    });

    it('§7.1 id_token_hint accepts an ID token this provider issued to the client', async () => {
      const message = uniqueMessage('first');
      const { authReqId } = await op.authorize({ login_hint: 'bob', binding_message: message });
      const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      const tokens = await op.token(authReqId);
      expect(tokens.status).toBe(200);

      const second = uniqueMessage('second');
      const res = await op.form('/bc-authorize', { scope: 'openid', id_token_hint: String(tokens.body['id_token']), binding_message: second });
      expect(res.status).toBe(200);
      const { body } = await op.notification((b) => b['binding_message'] === second);
      expect(body['login_hint']).toBe('bob');
    });

    it('§7.1 id_token_hint that this provider did not sign is invalid_request', async () => {
      const forged = [
        Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'x' })).toString('base64url'),
        Buffer.from(JSON.stringify({ iss: op.url, sub: 'alice', aud: CLIENTS.basic.id })).toString('base64url'),
        'c2lnbmF0dXJl',
      ].join('.');
      expectError(await op.form('/bc-authorize', { scope: 'openid', id_token_hint: forged }), 400, 'invalid_request');
    });
  });

  describe('§7.1 requested_expiry, acr_values, binding_message', () => {
    it('§7.1 requested_expiry sets expires_in, as an integer string', async () => {
      const { body } = await op.authorize({ requested_expiry: '300' });
      expect(body['expires_in']).toBe(300);
    });

    it.each(['0', '-5', '1.5', 'soon', '601'])('§7.1 rejects requested_expiry=%s', async (value) => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', requested_expiry: value }), 400, 'invalid_request');
    });

    it('§7.1 acr_values are passed through to the authentication device', async () => {
      const message = uniqueMessage('acr');
      await op.authorize({ binding_message: message, acr_values: 'urn:example:mfa urn:example:pwd' });
      const { body } = await op.notification((b) => b['binding_message'] === message);
      expect(body['acr_values']).toBe('urn:example:mfa urn:example:pwd');
    });

    it.each(['Approve payment #4211 to ACME', 'Подтвердите вход 7Q2', '確認コード 4F2K', 'تأكيد الدفع ٤٢', 'Café ✓ 👍'])(
      '§7.1 accepts human text in any script as binding_message: %s',
      async (message) => {
        await op.authorize({ binding_message: message });
        const { body } = await op.notification((b) => b['binding_message'] === message);
        expect(body['binding_message']).toBe(message);
      },
    );

    it.each([
      ['a control character', 'line one\nline two'],
      ['a bell', 'ding\u0007'],
      ['a bidi override', 'pay \u202Eevil'],
      ['65 characters', 'x'.repeat(65)],
    ])('§7.1 rejects a binding_message with %s as invalid_binding_message', async (_what, message) => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', binding_message: message }), 400, 'invalid_binding_message');
    });
  });

  describe('§7 persistence', () => {
    it('§7.3 an accepted request is durable and pending in PostgreSQL before the response', async () => {
      const { authReqId } = await op.authorize({ requested_expiry: '60' });
      const rows: { status: string; client_id: string; subject: string }[] = await op.db.dataSource.query(
        'SELECT status, client_id, subject FROM auth_requests WHERE id = $1',
        [requestIdIn(authReqId)],
      );
      expect(rows).toEqual([{ status: 'pending', client_id: CLIENTS.basic.id, subject: 'alice' }]);
    });

  });
});
