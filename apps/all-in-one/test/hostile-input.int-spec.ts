import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { requestWithLink } from './approval-page.harness.js';
import { CIBA, CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider } from './provider-harness.js';
import { type RawResponse, rawRequest } from './raw-http.js';

/**
 * Hostile input is refused with the endpoint's own 4xx before anything is looked up: a NUL byte
 * used to reach PostgreSQL ("invalid byte sequence for encoding UTF8: 0x00") and answer 500.
 * Refused "before the database" shows as the same answer for a client that does not exist: no
 * lookup happened.
 */
describe('hostile input', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  }, 60_000);
  afterAll(async () => {
    await op.close();
  });

  const NOBODY: TestClient = { id: 'nobody', secret: 'no-such-client-secret', method: 'basic' };
  const basicHeader = (userPass: Buffer | string) => `Basic ${Buffer.from(userPass).toString('base64')}`;
  const post = async (path: string, body: string, authorization: string): Promise<HttpResult> => {
    const res = await fetch(`${op.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };

  function expectError(res: HttpResult | RawResponse, status: number, error: string, description?: string): void {
    const body = typeof res.body === 'string' ? (JSON.parse(res.body) as Record<string, unknown>) : res.body;
    expect({ status: res.status, error: body['error'] }).toEqual({ status, error });
    expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    if (description !== undefined) expect(body['error_description']).toBe(description);
    const cacheControl = res.headers instanceof Headers ? res.headers.get('cache-control') : res.headers['cache-control'];
    expect(cacheControl).toBe('no-store');
  }

  describe('client credentials', () => {
    it('hostile input: a NUL byte in the Basic client id answers 401 invalid_client, not 500', async () => {
      const res = await post('/bc-authorize', 'scope=openid&login_hint=alice', basicHeader(`con%00sole:${CLIENTS.basic.secret}`));
      expectError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('hostile input: a raw NUL byte or invalid UTF-8 in the decoded Basic credentials answers 401 invalid_client at /token, not 500', async () => {
      for (const userPass of [Buffer.from('con\u0000sole:secret-value'), Buffer.from([0x63, 0xff, 0x3a, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74])]) {
        const res = await post('/token', `grant_type=${encodeURIComponent(CIBA)}&auth_req_id=abc`, basicHeader(userPass));
        expectError(res, 401, 'invalid_client', 'malformed Basic credentials');
      }
    });

    it('hostile input: a NUL byte in client_id (client_secret_post) answers 400 invalid_request, not 500', async () => {
      const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', client_id: 'agent\u0000post', client_secret: CLIENTS.post.secret }, null);
      expectError(res, 400, 'invalid_request', 'parameter client_id contains a control character');
    });
  });

  describe('/bc-authorize parameters (CIBA §7.1)', () => {
    it.each([
      ['login_hint', 'al\u0000ice', CLIENTS.basic],
      ['acr_values', 'urn:example:mfa\u0000', CLIENTS.basic],
      ['id_token_hint', 'eyJ\u0000', CLIENTS.basic],
      ['user_code', '12\u000034', CLIENTS.basic],
      ['scope', 'openid\u0000profile', CLIENTS.basic],
      ['requested_expiry', '6\u00000', CLIENTS.basic],
      ['login_hint_token', 'eyJ\u0000', CLIENTS.basic],
      ['client_notification_token', 'b64\u0000token', CLIENTS.ping],
    ])('hostile input: a NUL byte in %s answers 400 invalid_request before the database, not 500', async (name, value, client) => {
      const params = { scope: 'openid', login_hint: 'alice', client_notification_token: 'some-b64token', ...{ [name]: value } };
      if (name === 'id_token_hint' || name === 'login_hint_token') delete (params as Record<string, string>)['login_hint'];
      expectError(await op.form('/bc-authorize', params, client), 400, 'invalid_request', `parameter ${name} contains a control character`);
      expectError(await op.form('/bc-authorize', params, NOBODY), 400, 'invalid_request', `parameter ${name} contains a control character`);
    });

    it('hostile input: an oversized login_hint answers 400 invalid_request before the user lookup', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: `${'a'.repeat(600)}@example.com` }), 400, 'invalid_request', 'parameter login_hint must be at most 512 characters');
    });

    it('hostile input: an oversized unknown parameter answers 400 invalid_request', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', x_extension: 'a'.repeat(3000) }), 400, 'invalid_request', 'parameter x_extension must be at most 2048 characters');
    });

    it('§13 a NUL byte in binding_message keeps its own answer: 400 invalid_binding_message', async () => {
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', binding_message: 'Approve\u0000 W4SCT' }), 400, 'invalid_binding_message');
    });

    it('hostile input: invalid UTF-8 in binding_message answers 400 invalid_request, never shown to the user as U+FFFD', async () => {
      const res = await post('/bc-authorize', 'scope=openid&login_hint=alice&binding_message=Approve%20%FF%FE', basicHeader(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`));
      expectError(res, 400, 'invalid_request', 'the request body is not valid UTF-8');
    });

    it.each([
      ['a NUL escape', '\\u0000', 'contains a control character'],
      ['an unpaired surrogate escape', '\\ud800', 'contains an unpaired surrogate'],
    ])('hostile input: %s in authorization_details answers 400 invalid_authorization_details, not 500 from jsonb', async (_label, escape, problem) => {
      const details = `[{"type":"payment_initiation","creditorName":"Merchant ${escape}"}]`;
      expectError(await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice', authorization_details: details }), 400, 'invalid_authorization_details', `authorization_details ${problem}`);
    });
  });

  describe('/token parameters', () => {
    it('hostile input: a NUL byte in auth_req_id answers 400 invalid_request, not 500', async () => {
      expectError(await op.form('/token', { grant_type: CIBA, auth_req_id: 'abc\u0000def' }), 400, 'invalid_request', 'parameter auth_req_id contains a control character');
      expectError(await op.form('/token', { grant_type: CIBA, auth_req_id: 'abc\u0000def' }, NOBODY), 400, 'invalid_request');
    });

    it.each([
      ['refresh_token', { grant_type: 'refresh_token', refresh_token: 'rt\u0000value' }],
      ['scope', { grant_type: 'refresh_token', refresh_token: 'rt-value', scope: 'openid\u0001' }],
      ['grant_type', { grant_type: `${CIBA}\u0000`, auth_req_id: 'abc' }],
    ])('hostile input: a control character in %s answers 400 invalid_request before the database', async (name, params) => {
      expectError(await op.form('/token', params), 400, 'invalid_request', `parameter ${name} contains a control character`);
    });

    it('hostile input: invalid UTF-8 in a form body is invalid_request', async () => {
      // %C3%28: a lead byte without its continuation, which Node's decoder leaves undecoded without a word
      const res = await post('/token', 'grant_type=refresh_token&refresh_token=%C3%28', basicHeader(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`));
      expectError(res, 400, 'invalid_request', 'the request body is not valid UTF-8');
    });
  });

  describe('JSON endpoints', () => {
    const postJson = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
      rawRequest(op.url, { method: 'POST', path, headers: [['content-type', 'application/json'], ...Object.entries(headers)], body: Buffer.from(body) });

    it('hostile input: invalid UTF-8 in a JSON body is invalid_request (device callback, device registration)', async () => {
      const invalid = Buffer.concat([Buffer.from('{"status":"SUCC'), Buffer.from([0xff]), Buffer.from('EED"}')]);
      expectError(await postJson('/ext/ciba/auth/callback', invalid, { authorization: 'Bearer some-token' }), 400, 'invalid_request', 'the request body is not valid UTF-8');
      expectError(await postJson('/ext/ciba/devices', invalid), 400, 'invalid_request', 'the request body is not valid UTF-8');
    });

    it('hostile input: a NUL or unpaired surrogate escape anywhere in a JSON body is invalid_request', async () => {
      expectError(await postJson('/ext/ciba/auth/callback', '{"status":"SUCCEED","note":"\\u0000"}', { authorization: 'Bearer some-token' }), 400, 'invalid_request', 'the JSON body contains a control character');
      expectError(await postJson('/ext/ciba/devices', '{"kind":"fcm","registration_token":"abcdefghijklmnopqrstuv","id_token_hint":"\\udc00"}'), 400, 'invalid_request', 'the JSON body contains an unpaired surrogate');
    });

    it('hostile input: malformed JSON answers 400 invalid_request in the OAuth format, not the framework\'s', async () => {
      expectError(await postJson('/ext/ciba/auth/callback', '{"status":', { authorization: 'Bearer some-token' }), 400, 'invalid_request');
    });
  });

  describe('errors outside the controllers', () => {
    it('404/405/413 answer in the OAuth error format with no-store', async () => {
      expectError(await rawRequest(op.url, { method: 'GET', path: '/no/such/endpoint' }), 404, 'invalid_request');
      expectError(await rawRequest(op.url, { method: 'POST', path: '/healthz' }), 404, 'invalid_request');
      const notAllowed = await rawRequest(op.url, { method: 'GET', path: '/token' });
      expectError(notAllowed, 405, 'invalid_request');
      expect(notAllowed.headers['allow']).toBe('POST');
      const tooLarge = await rawRequest(op.url, {
        method: 'POST',
        path: '/bc-authorize',
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: Buffer.from(`login_hint=${'a'.repeat(70_000)}`),
      });
      expectError(tooLarge, 413, 'invalid_request', 'request body too large');
    });

    it('hostile input: an unsupported charset or too many parameters answer in the OAuth error format', async () => {
      const charset = await rawRequest(op.url, { method: 'POST', path: '/token', headers: [['content-type', 'application/x-www-form-urlencoded; charset=koi8-r']], body: Buffer.from('a=b') });
      expectError(charset, 415, 'invalid_request');
      const many = await rawRequest(op.url, {
        method: 'POST',
        path: '/token',
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        body: Buffer.from(Array.from({ length: 150 }, (_, i) => `p${i}=1`).join('&')),
      });
      expectError(many, 413, 'invalid_request');
    });

    it('hostile input: a control character in a header, refused by the HTTP parser, answers 400 in the OAuth error format', async () => {
      const res = await rawRequest(op.url, { method: 'POST', path: '/token', headers: [['x-note', Buffer.from([0x61, 0x00, 0x62])]] });
      expectError(res, 400, 'invalid_request');
    });

    it('the approval and enrolment pages answer HTML error pages for unmatched paths and unreadable bodies', async () => {
      const { link } = await requestWithLink(op);
      const path = new URL(link).pathname;
      const pages = [
        await rawRequest(op.url, { method: 'GET', path: '/approve/a/b/c' }),
        await rawRequest(op.url, { method: 'PUT', path }),
        await rawRequest(op.url, { method: 'GET', path: '/enrol/a/b/c' }),
        await rawRequest(op.url, { method: 'GET', path: '/approve/%FF' }),
        await rawRequest(op.url, { method: 'POST', path, headers: [['content-type', 'application/x-www-form-urlencoded']], body: Buffer.from('decision=approve&csrf=%FF') }),
        await rawRequest(op.url, { method: 'POST', path, headers: [['content-type', 'application/x-www-form-urlencoded']], body: Buffer.from(`csrf=${'a'.repeat(70_000)}`) }),
      ];
      expect(pages.map((page) => page.status)).toEqual([404, 404, 404, 400, 400, 413]);
      for (const page of pages) {
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.headers['cache-control']).toBe('no-store');
        expect(page.headers['content-security-policy']).toBeDefined();
      }
      // The link was not used by any of this.
      expect((await rawRequest(op.url, { method: 'GET', path })).status).toBe(200);
    });
  });
});
