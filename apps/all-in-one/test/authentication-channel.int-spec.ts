import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { waitFor, requestIdIn } from '@ciba/testing';
import { type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';


function expectTokenError(res: HttpResult, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error });
}

/** Posts a decision to the callback with arbitrary headers and body. */
async function callback(op: TestProvider, headers: Record<string, string>, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${op.url}/ext/ciba/auth/callback`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('HTTP authentication channel (Keycloak-compatible)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  /** bc-authorize with a unique binding message, then the device's notification for it. */
  async function notified(params: Record<string, string> = {}) {
    const message = uniqueMessage('channel');
    const { authReqId } = await op.authorize({ binding_message: message, ...params });
    const notification = await op.device.notificationFor((n) => n.body['binding_message'] === message);
    return { authReqId, message, notification, decisionToken: notification.decisionToken ?? '' };
  }

  describe('notification to the authentication device', () => {
    it('POSTs JSON with a Bearer decision token and exactly login_hint (the sub), binding_message, is_consent_required, scope, acr_values, client_id, authorization_details', async () => {
      const { message, notification } = await notified({ login_hint: 'alice@example.com', scope: 'openid profile', acr_values: 'urn:acr:mfa urn:acr:pwd' });
      expect(notification.headers.authorization).toMatch(/^Bearer [A-Za-z0-9\-._~+/]+=*$/);
      expect(notification.decisionToken).toBeTruthy();
      expect(notification.headers['content-type']).toMatch(/^application\/json/);
      expect(notification.body).toEqual({
        login_hint: 'alice',
        binding_message: message,
        is_consent_required: true,
        scope: 'openid profile',
        acr_values: 'urn:acr:mfa urn:acr:pwd',
        client_id: 'console-basic',
        authorization_details: null,
      });
    });

    it('RFC 9396: forwards the authorization_details the user is asked to approve, as the client sent them', async () => {
      const details = [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '12.00' }, creditorName: 'Merchant A' }];
      const { notification } = await notified({ login_hint: 'alice', authorization_details: JSON.stringify(details) });
      expect(notification.body['authorization_details']).toEqual(details);
    });

    it('the authentication-channel body carries acr_values: null when absent', async () => {
      const { notification } = await notified({ login_hint: 'bob' });
      // Every documented field is present; the ones the request has no value for are null, never left out.
      expect(notification.body).toEqual({
        login_hint: 'bob',
        binding_message: notification.body['binding_message'],
        is_consent_required: true,
        scope: 'openid',
        acr_values: null,
        client_id: 'console-basic',
        authorization_details: null,
      });
      expect(notification.body).toHaveProperty('acr_values', null);
    });

    it('a request without a binding message is sent with binding_message: null', async () => {
      const { authReqId } = await op.authorize({ login_hint: 'bob', scope: 'openid profile' });
      expect(authReqId).toBeTruthy();
      const notification = await op.device.notificationFor((n) => n.body['login_hint'] === 'bob' && n.body['scope'] === 'openid profile' && n.body['binding_message'] === null);
      expect(Object.keys(notification.body).sort()).toEqual(['acr_values', 'authorization_details', 'binding_message', 'client_id', 'is_consent_required', 'login_hint', 'scope']);
    });

    it('each request gets its own decision token', async () => {
      const [a, b] = await Promise.all([notified(), notified()]);
      expect(a.decisionToken).not.toBe(b.decisionToken);
    });
  });

  describe('the decision callback', () => {
    it('SUCCEED approves the request it is bound to and the token endpoint then returns tokens; the used token cannot decide again (409)', async () => {
      const { authReqId, decisionToken } = await notified();
      expectTokenError(await op.token(authReqId), 'authorization_pending');
      const decided = await op.decide(decisionToken, 'SUCCEED');
      expect(decided.status).toBe(200);
      const tokens = await op.token(authReqId);
      expect(tokens.status).toBe(200);
      expect(typeof tokens.body['access_token']).toBe('string');

      const replay = await op.decide(decisionToken, 'UNAUTHORIZED');
      expect(replay.status).toBe(409);
      expect(replay.body).toEqual({ error: 'invalid_request', error_description: 'a decision was already recorded for this request (approved); this one was not applied' });
      // The retry of the same decision is answered as the first one (decision-recovery.int-spec.ts).
    });

    it('a decision token answers only its own request', async () => {
      const first = await notified();
      const second = await notified();
      expect((await op.decide(first.decisionToken, 'UNAUTHORIZED')).status).toBe(200);
      expectTokenError(await op.token(first.authReqId), 'access_denied');
      expectTokenError(await op.token(second.authReqId), 'authorization_pending');
    });

    it('a forged decision token is 401 and decides nothing', async () => {
      const { authReqId, decisionToken } = await notified();
      const forged = `${decisionToken.slice(0, -4)}AAAA` === decisionToken ? `${decisionToken.slice(0, -4)}BBBB` : `${decisionToken.slice(0, -4)}AAAA`;
      const res = await op.decide(forged, 'SUCCEED');
      expect(res.status).toBe(401);
      expect(res.body['error']).toBe('invalid_token');
      expectTokenError(await op.token(authReqId), 'authorization_pending');
    });

    it('no Authorization header is 401', async () => {
      const res = await callback(op, {}, JSON.stringify({ status: 'SUCCEED' }));
      expect(res.status).toBe(401);
      expect(res.body['error']).toBe('invalid_token');
    });

    it('an unknown status value is 400 and the request stays pending, the token still usable', async () => {
      const { authReqId, decisionToken } = await notified();
      const res = await op.decide(decisionToken, 'MAYBE');
      expect(res.status).toBe(400);
      expect(res.body['error']).toBe('invalid_request');
      expectTokenError(await op.token(authReqId), 'authorization_pending');
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    });

    it('a decision after the request expired is refused (4xx) and the token endpoint still says expired_token', async () => {
      const { authReqId, decisionToken } = await notified({ requested_expiry: '1' });
      op.clock.advance(2); // past the 1-second lifetime
      const res = await op.decide(decisionToken, 'SUCCEED');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectTokenError(await op.token(authReqId), 'expired_token');
    });
  });

  describe('delivery', () => {
    it('failed notifications are retried with backoff until the device accepts, and the flow completes', async () => {
      const attemptsBefore = op.device.attempts;
      op.device.failNext(2, 503);
      const message = uniqueMessage('retry');
      const { authReqId } = await op.authorize({ binding_message: message });
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      expect(op.device.attempts - attemptsBefore).toBeGreaterThanOrEqual(3);
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      expect((await op.token(authReqId)).status).toBe(200);
    }, 20_000);
  });

  describe('audit trail', () => {
    it('one audit record per lifecycle event of an approve + redeem flow, with no auth_req_id, binding message or login hint', async () => {
      const loginHint = 'alice@example.com';
      const { authReqId, message, decisionToken } = await notified({ login_hint: loginHint });
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      expect((await op.token(authReqId)).status).toBe(200);

      const requestId = requestIdIn(authReqId);
      const expected = ['auth_request.approved', 'auth_request.created', 'auth_request.device_notified', 'auth_request.redeemed'];
      let records: Record<string, unknown>[] = [];
      await waitFor(
        async () => {
          records = await op.db.dataSource.query('SELECT * FROM audit_records WHERE request_id = $1', [requestId]);
          return expected.every((type) => records.some((r) => r['type'] === type));
        },
        { description: 'audit records of the whole flow' },
      );
      expect(records.map((r) => String(r['type'])).sort()).toEqual(expected);
      for (const record of records) {
        const text = JSON.stringify(record);
        expect(text).not.toContain(authReqId);
        expect(text).not.toContain(message);
        expect(text).not.toContain(loginHint);
      }
    });
  });
});
