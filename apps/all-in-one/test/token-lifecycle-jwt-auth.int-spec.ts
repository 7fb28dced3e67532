import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { loadBootstrap } from '@ciba/platform';
import { CIBA, bootstrapDeps, type HttpResult, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SECRET = 'a-client-secret-for-hmac-assertions-lifecycle-0123456789';
const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

const KEYED = { id: 'rp-lifecycle-private-key-jwt', kid: 'lifecycle-1' };
const HMAC = { id: 'rp-lifecycle-client-secret-jwt' };
type AssertingClient = 'keyed' | 'hmac';

/**
 * Introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1) authenticate the client as the token
 * endpoint does: also with RFC 7523 JWT assertions, `private_key_jwt` and `client_secret_jwt`
 * (OpenID Connect Core 1.0 §9), whose `aud` is the issuer or the URL of the endpoint itself.
 */
describe('introspection and revocation with JWT client authentication (RFC 7523, OpenID Connect Core 1.0 §9)', () => {
  let op: TestProvider;
  let privateKey: CryptoKey;
  let strangerKey: CryptoKey;

  const now = () => Math.floor(op.clock.now().getTime() / 1000);
  const claims = (clientId: string, aud: string | string[], overrides: Record<string, unknown> = {}) => ({ iss: clientId, sub: clientId, aud, exp: now() + 60, iat: now(), jti: randomUUID(), ...overrides });

  /** A fresh assertion of `client` for `aud` (by default the URL of `path`). */
  function assertion(client: AssertingClient, aud: string | string[], overrides: Record<string, unknown> = {}): Promise<string> {
    if (client === 'keyed') return new SignJWT(claims(KEYED.id, aud, overrides)).setProtectedHeader({ alg: 'ES256', kid: KEYED.kid }).sign(privateKey);
    return new SignJWT(claims(HMAC.id, aud, overrides)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  }

  async function post(path: string, params: Record<string, string>): Promise<HttpResult> {
    const res = await fetch(`${op.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  const asserted = (jwt: string, params: Record<string, string>) => ({ client_assertion_type: JWT_BEARER, client_assertion: jwt, ...params });
  const outcome = (res: HttpResult) => ({ status: res.status, body: res.body });
  const introspect = async (client: AssertingClient, token: string, aud = `${op.url}/token/introspect`) => post('/token/introspect', asserted(await assertion(client, aud), { token }));
  const revoke = async (client: AssertingClient, token: string, aud = `${op.url}/token/revoke`) => post('/token/revoke', asserted(await assertion(client, aud), { token }));

  /** An approved poll flow for alice, every request authenticated with `client`'s assertions. */
  async function granted(client: AssertingClient): Promise<{ accessToken: string; refreshToken: string }> {
    const message = uniqueMessage(client);
    const started = await post('/bc-authorize', asserted(await assertion(client, op.url), { scope: 'openid offline_access', login_hint: 'alice', binding_message: message }));
    expect(started.status).toBe(200);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const token = await post('/token', asserted(await assertion(client, `${op.url}/token`), { grant_type: CIBA, auth_req_id: String(started.body['auth_req_id']) }));
    expect(token.status).toBe(200);
    return { accessToken: String(token.body['access_token']), refreshToken: String(token.body['refresh_token']) };
  }

  beforeAll(async () => {
    // Every refusal below counts against the client: keep the lock out of these tests' way.
    op = await startTestProvider({ CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0', CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '0' });
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: KEYED.kid, use: 'sig', alg: 'ES256' };
    const common = { grant_types: [CIBA, 'refresh_token'], scope: 'openid offline_access' };
    const data = parseBootstrap({
      clients: [
        { client_id: KEYED.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwk] }, ...common },
        { client_id: HMAC.id, client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt', ...common },
      ],
    });
    await loadBootstrap(data, bootstrapDeps(op));
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  describe.each([
    ['private_key_jwt', 'keyed' as const],
    ['client_secret_jwt', 'hmac' as const],
  ])('%s', (method, client) => {
    it(`RFC 7662 §2.1 introspection authenticates a ${method} client whose assertion names the endpoint URL or the issuer`, async () => {
      const { accessToken, refreshToken } = await granted(client);
      for (const aud of [`${op.url}/token/introspect`, op.url, [op.url]]) {
        const access = await post('/token/introspect', asserted(await assertion(client, aud), { token: accessToken }));
        expect({ status: access.status, active: access.body['active'] }).toEqual({ status: 200, active: true });
        const refresh = await post('/token/introspect', asserted(await assertion(client, aud), { token: refreshToken, token_type_hint: 'refresh_token' }));
        expect({ status: refresh.status, active: refresh.body['active'] }).toEqual({ status: 200, active: true });
      }
    });

    it(`RFC 7009 §2.1 revocation authenticates a ${method} client (endpoint URL or issuer as aud), and the token is then inactive`, async () => {
      const first = await granted(client);
      const viaEndpoint = await revoke(client, first.refreshToken);
      expect({ status: viaEndpoint.status, cacheControl: viaEndpoint.headers.get('cache-control') }).toEqual({ status: 200, cacheControl: 'no-store' });
      expect((await introspect(client, first.refreshToken)).body).toEqual({ active: false });

      const second = await granted(client);
      expect((await revoke(client, second.refreshToken, op.url)).status).toBe(200);
      expect((await introspect(client, second.refreshToken)).body).toEqual({ active: false });
    });

    it(`RFC 7523 §3 (3) refuses a ${method} assertion made for another endpoint (the token endpoint's URL at introspection and revocation)`, async () => {
      const { refreshToken } = await granted(client);
      expect(outcome(await introspect(client, refreshToken, `${op.url}/token`))).toEqual(REFUSED);
      expect(outcome(await revoke(client, refreshToken, `${op.url}/token`))).toEqual(REFUSED);
      expect(outcome(await revoke(client, refreshToken, `${op.url}/token/introspect`))).toEqual(REFUSED);
      expect(outcome(await introspect(client, refreshToken, 'https://elsewhere.example'))).toEqual(REFUSED);
      // Nothing of that revoked it.
      expect((await introspect(client, refreshToken)).body['active']).toBe(true);
    });

    it(`RFC 7523 §3 (7) a ${method} assertion is single-use: replayed at introspection or revocation it is refused`, async () => {
      const { refreshToken } = await granted(client);
      const once = await assertion(client, op.url);
      expect((await post('/token/introspect', asserted(once, { token: refreshToken }))).status).toBe(200);
      expect(outcome(await post('/token/introspect', asserted(once, { token: refreshToken })))).toEqual(REFUSED);
      expect(outcome(await post('/token/revoke', asserted(once, { token: refreshToken })))).toEqual(REFUSED);
      expect((await introspect(client, refreshToken)).body['active']).toBe(true);
    });

    it(`RFC 7523 §3 (4) refuses an expired ${method} assertion, and one without exp`, async () => {
      const { accessToken } = await granted(client);
      const expired = await assertion(client, op.url, { iat: now() - 120, exp: now() - 60 });
      expect(outcome(await post('/token/introspect', asserted(expired, { token: accessToken })))).toEqual(REFUSED);
      const noExp = await assertion(client, op.url, { exp: undefined });
      expect(outcome(await post('/token/revoke', asserted(noExp, { token: accessToken })))).toEqual(REFUSED);
    });
  });

  it('RFC 7518 §3.6 refuses an unsecured (alg none) assertion at introspection and revocation', async () => {
    const unsecured = new UnsecuredJWT(claims(KEYED.id, op.url)).encode();
    expect(outcome(await post('/token/introspect', asserted(unsecured, { token: 'x' })))).toEqual(REFUSED);
    expect(outcome(await post('/token/revoke', asserted(new UnsecuredJWT(claims(HMAC.id, op.url)).encode(), { token: 'x' })))).toEqual(REFUSED);
  });

  it('OpenID Connect Core 1.0 §9 refuses a private_key_jwt assertion signed by another key or as an HMAC, and a client_secret_jwt one with another secret or a key signature', async () => {
    const { refreshToken } = await granted('keyed');
    const wrongKey = await new SignJWT(claims(KEYED.id, op.url)).setProtectedHeader({ alg: 'ES256', kid: KEYED.kid }).sign(strangerKey);
    expect(outcome(await post('/token/revoke', asserted(wrongKey, { token: refreshToken })))).toEqual(REFUSED);
    const hmacForKeyed = await new SignJWT(claims(KEYED.id, op.url)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    expect(outcome(await post('/token/revoke', asserted(hmacForKeyed, { token: refreshToken })))).toEqual(REFUSED);
    const wrongSecret = await new SignJWT(claims(HMAC.id, op.url)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(`${SECRET}-not`));
    expect(outcome(await post('/token/introspect', asserted(wrongSecret, { token: refreshToken })))).toEqual(REFUSED);
    const keyForHmac = await new SignJWT(claims(HMAC.id, op.url)).setProtectedHeader({ alg: 'ES256', kid: KEYED.kid }).sign(privateKey);
    expect(outcome(await post('/token/introspect', asserted(keyForHmac, { token: refreshToken })))).toEqual(REFUSED);
    expect((await introspect('keyed', refreshToken)).body['active']).toBe(true);
  });

  it('RFC 7662 §2.2 / RFC 7009 §2.1 a JWT-authenticated client learns nothing of, and cannot revoke, another client’s tokens', async () => {
    const theirs = await granted('keyed');
    expect((await introspect('hmac', theirs.accessToken)).body).toEqual({ active: false });
    expect((await introspect('hmac', theirs.refreshToken)).body).toEqual({ active: false });
    expect((await revoke('hmac', theirs.refreshToken)).status).toBe(200);
    expect((await introspect('keyed', theirs.refreshToken)).body['active']).toBe(true);
  });

  it('RFC 7523 §2.2 an assertion of one client naming another as client_id is refused', async () => {
    const { refreshToken } = await granted('keyed');
    const res = await post('/token/revoke', asserted(await assertion('keyed', op.url), { token: refreshToken, client_id: HMAC.id }));
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('invalid_client');
    expect((await introspect('keyed', refreshToken)).body['active']).toBe(true);
  });
});
