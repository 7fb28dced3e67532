import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JSONWebKeySet, createLocalJWKSet, jwtVerify } from 'jose';
import { waitFor, requestIdIn } from '@ciba/testing';
import { requestWithLink } from './approval-page.harness.js';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** RFC 9396 §2 example shape: a type the test client registered, common fields and type-specific ones. */
const PAYMENT = {
  type: 'payment_initiation',
  actions: ['initiate'],
  locations: ['https://pay.example.com/payments'],
  instructedAmount: { currency: 'EUR', amount: '123.50' },
  creditorName: 'Merchant A',
};
const ACCOUNTS = { type: 'account_information', actions: ['read'], datatypes: ['balances'] };

function expectError(res: HttpResult, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
}

describe('RFC 9396 rich authorization requests in CIBA', () => {
  let op: TestProvider;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  beforeAll(async () => {
    op = await startTestProvider();
    jwks = createLocalJWKSet((await (await fetch(`${op.url}/jwks`)).json()) as JSONWebKeySet);
  });
  afterAll(async () => {
    await op.close();
  });

  const accessTokenClaims = async (token: unknown) => (await jwtVerify(String(token), jwks, { issuer: op.url, typ: 'at+jwt' })).payload;
  const storedDetails = async (authReqId: string) => {
    const rows = await op.db.dataSource.query<{ authorization_details: unknown }[]>('SELECT authorization_details FROM auth_requests WHERE id = $1', [
      requestIdIn(authReqId),
    ]);
    return rows.map((row) => row.authorization_details);
  };
  const requestCount = async () => Number((await op.db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM auth_requests'))[0].n);

  /** bc-authorize with details, the device approves, the client redeems. */
  async function approvedTokens(details: readonly object[], scope = 'openid offline_access', client: TestClient = CLIENTS.basic) {
    const message = uniqueMessage('rar');
    const { authReqId } = await op.authorize({ scope, binding_message: message, authorization_details: JSON.stringify(details) }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId, client);
    expect(res.status).toBe(200);
    return { authReqId, tokens: res.body };
  }

  describe('bc-authorize', () => {
    it('RFC 9396 §2 accepts registered details, stores them on the request and shows them on the approval page', async () => {
      const { authReqId, link } = await requestWithLink(op, { authorization_details: JSON.stringify([PAYMENT, ACCOUNTS]) });
      expect(await storedDetails(authReqId)).toEqual([[PAYMENT, ACCOUNTS]]);
      const page = await fetch(link);
      expect(page.status).toBe(200);
      const html = await page.text();
      for (const shown of ['payment_initiation', 'account_information', 'Merchant A', '123.50', 'https://pay.example.com/payments', 'balances']) {
        expect(html).toContain(shown);
      }
    });

    it('RFC 9396 §5 rejects a type the client is not registered for with invalid_authorization_details, storing nothing', async () => {
      const before = await requestCount();
      const res = await op.form('/bc-authorize', {
        scope: 'openid',
        login_hint: 'alice',
        authorization_details: JSON.stringify([PAYMENT, { type: 'tax_filing' }]),
      });
      expectError(res, 'invalid_authorization_details');
      expect(res.body['error_description']).toBe("authorization_details[1] has type 'tax_filing', which is not registered for this client");
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await requestCount()).toBe(before);
    });

    it('RFC 9396 §5 rejects malformed JSON with invalid_authorization_details', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', authorization_details: '[{"type":"payment_initiation"' });
      expectError(res, 'invalid_authorization_details');
      expect(res.body['error_description']).toBe('authorization_details must be valid JSON');
    });

    it('RFC 9396 §5 rejects an entry without type', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', authorization_details: JSON.stringify([{ actions: ['initiate'] }]) });
      expectError(res, 'invalid_authorization_details');
    });

    it('RFC 9396 §10 a client that registered no type cannot send authorization_details', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', authorization_details: JSON.stringify([PAYMENT]) }, CLIENTS.post);
      expectError(res, 'invalid_authorization_details');
      expect(res.body['error_description']).toBe('this client is not registered for any authorization_details type');
    });

    it('refuses more than 8 KB of authorization_details', async () => {
      const res = await op.form('/bc-authorize', {
        scope: 'openid',
        login_hint: 'alice',
        authorization_details: JSON.stringify([{ ...PAYMENT, note: 'x'.repeat(8192) }]),
      });
      expectError(res, 'invalid_authorization_details');
      expect(res.body['error_description']).toMatch(/at most 8192 bytes/);
    });

    it('RFC 9396 §13 the audit keeps the types of the created request, never the details', async () => {
      const { authReqId } = await op.authorize({ authorization_details: JSON.stringify([PAYMENT]) });
      const id = requestIdIn(authReqId);
      let payload: Record<string, unknown> = {};
      await waitFor(
        async () => {
          const rows = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(
            `SELECT payload FROM audit_records WHERE request_id = $1 AND type = 'auth_request.created'`,
            [id],
          );
          payload = rows[0]?.payload ?? {};
          return rows.length === 1;
        },
        { description: 'the auth_request.created audit record' },
      );
      expect(payload['authorizationDetailsTypes']).toEqual(['payment_initiation']);
      const json = JSON.stringify(payload);
      for (const value of ['Merchant A', '123.50', 'instructedAmount', 'pay.example.com']) expect(json).not.toContain(value);
    });
  });

  describe('tokens', () => {
    it('RFC 9396 §7, §9.1 the token response and the access token carry the approved details', async () => {
      const { tokens } = await approvedTokens([PAYMENT, ACCOUNTS]);
      expect(tokens['authorization_details']).toEqual([PAYMENT, ACCOUNTS]);
      expect((await accessTokenClaims(tokens['access_token']))['authorization_details']).toEqual([PAYMENT, ACCOUNTS]);
      // The ID token is about the authentication, not the grant.
      const id = await jwtVerify(String(tokens['id_token']), jwks, { issuer: op.url, audience: CLIENTS.basic.id });
      expect(id.payload).not.toHaveProperty('authorization_details');
    });

    it('RFC 9396 §7 a request without details gets tokens without them', async () => {
      const message = uniqueMessage('no-rar');
      const { authReqId } = await op.authorize({ binding_message: message });
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      await op.decide(decisionToken, 'SUCCEED');
      const res = await op.token(authReqId);
      expect(res.status).toBe(200);
      expect(res.body).not.toHaveProperty('authorization_details');
      expect(await accessTokenClaims(res.body['access_token'])).not.toHaveProperty('authorization_details');
    });

    it('RFC 9396 §7 a refreshed access token keeps the same details, through every rotation', async () => {
      const { tokens } = await approvedTokens([PAYMENT]);
      let refreshToken = String(tokens['refresh_token']);
      for (let i = 0; i < 2; i++) {
        const res = await op.form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
        expect(res.status).toBe(200);
        expect(res.body['authorization_details']).toEqual([PAYMENT]);
        expect((await accessTokenClaims(res.body['access_token']))['authorization_details']).toEqual([PAYMENT]);
        refreshToken = String(res.body['refresh_token']);
      }
    });

    it('RFC 9396 §6 refuses authorization_details in a token request rather than ignore it', async () => {
      const { tokens } = await approvedTokens([PAYMENT]);
      const res = await op.form('/token', {
        grant_type: 'refresh_token',
        refresh_token: String(tokens['refresh_token']),
        authorization_details: JSON.stringify([{ type: 'payment_initiation' }]),
      });
      expectError(res, 'invalid_authorization_details');
      // Refused before the grant was looked at: the refresh token still works.
      expect((await op.form('/token', { grant_type: 'refresh_token', refresh_token: String(tokens['refresh_token']) })).status).toBe(200);
    });

    it('RFC 9396 §7 / CIBA §10.3.1 push mode delivers the details with the pushed tokens', async () => {
      const message = uniqueMessage('rar-push');
      const cnt = `cnt-${randomBytes(12).toString('base64url')}`;
      const { authReqId } = await op.authorize(
        { binding_message: message, client_notification_token: cnt, authorization_details: JSON.stringify([PAYMENT]) },
        CLIENTS.push,
      );
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      await op.decide(decisionToken, 'SUCCEED');
      const [callback] = await op.receiver.waitFor(authReqId);
      expect(callback.body['authorization_details']).toEqual([PAYMENT]);
      expect((await accessTokenClaims(callback.body['access_token']))['authorization_details']).toEqual([PAYMENT]);
    });
  });

  it('RFC 9396 §10 discovery advertises the union of the types clients registered', async () => {
    const doc = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc['authorization_details_types_supported']).toEqual(['account_information', 'payment_initiation']);
  });
});
