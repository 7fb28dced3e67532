import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { ClientAuthThrottle, loadBootstrap } from '@ciba/platform';
import { type HttpsPeer, replyJson, selfSignedCert, startHttpsPeer, temporaryFile } from '@ciba/testing';
import { CIBA, bootstrapDeps, type HttpResult, type TestProvider, startTestProvider } from './provider-harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SECRET = 'a-client-secret-for-hmac-assertions-0123456789';
const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

const inline = { id: 'rp-inline-keys', kid: 'inline-1' };
const remote = { id: 'rp-jwks-uri', kid: 'remote-1' };
const hmac = { id: 'rp-secret-jwt' };
const leaky = { id: 'rp-leaky-jwks-uri', kid: 'leaky-1' };

interface Claims {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string | string[];
  readonly exp?: number;
  readonly iat?: number;
  readonly jti?: string;
}

describe('client authentication with JWT assertions (RFC 7523, OpenID Connect Core 1.0 §9) at bc-authorize and token', () => {
  let op: TestProvider;
  let peer: HttpsPeer;
  let caFile: { path: string; remove(): void };
  let published: JWK[] = [];
  let leakedPrivateJwk: JWK = {};
  const keys: Record<string, { privateKey: CryptoKey; jwk: JWK }> = {};

  async function keyPair(kid: string) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    keys[kid] = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'ES256' } };
    return keys[kid];
  }

  const now = () => Math.floor(op.clock.now().getTime() / 1000);
  const claimsFor = (clientId: string, path = '/token'): Claims => ({ iss: clientId, sub: clientId, aud: `${op.url}${path}`, exp: now() + 60, iat: now(), jti: randomUUID() });

  function sign(claims: Claims, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string }): Promise<string> {
    return new SignJWT({ ...claims }).setProtectedHeader(header).sign(key);
  }
  const signedBy = (kid: string, claims: Claims) => sign(claims, keys[kid].privateKey, { alg: 'ES256', kid });
  const hmacSigned = (claims: Claims) => sign(claims, new TextEncoder().encode(SECRET), { alg: 'HS256' });

  async function post(path: string, params: Record<string, string>): Promise<HttpResult> {
    const res = await fetch(`${op.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  const withAssertion = (assertion: string, extra: Record<string, string> = {}) => ({ client_assertion_type: JWT_BEARER, client_assertion: assertion, ...extra });
  const bcAuthorize = (assertion: string, extra: Record<string, string> = {}) => post('/bc-authorize', { scope: 'openid', login_hint: 'alice', ...withAssertion(assertion, extra) });
  const outcome = (res: HttpResult) => ({ status: res.status, body: res.body });

  beforeAll(async () => {
    const tls = selfSignedCert();
    caFile = temporaryFile('ca.pem', tls.cert);
    peer = await startHttpsPeer(tls, (req, res) => {
      if (req.url === '/jwks') replyJson(res, 200, { keys: published });
      else if (req.url === '/leaky-jwks') replyJson(res, 200, { keys: [leakedPrivateJwk] });
      else replyJson(res, 404, {});
    });
    op = await startTestProvider({ CIBA_CALLBACK_CA_FILE: caFile.path, CIBA_CLIENT_JWKS_REFETCH_INTERVAL_SECONDS: '60' });
    await keyPair(inline.kid);
    await keyPair(remote.kid);
    published = [keys[remote.kid].jwk];
    await keyPair(leaky.kid);
    leakedPrivateJwk = { ...(await exportJWK(keys[leaky.kid].privateKey)), kid: leaky.kid };
    const data = parseBootstrap({
      clients: [
        { client_id: inline.id, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys[inline.kid].jwk] }, grant_types: [CIBA] },
        { client_id: remote.id, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${peer.origin}/jwks`, token_endpoint_auth_signing_alg: 'ES256', grant_types: [CIBA] },
        { client_id: leaky.id, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${peer.origin}/leaky-jwks`, grant_types: [CIBA] },
        { client_id: hmac.id, client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt', grant_types: [CIBA] },
      ],
    });
    await loadBootstrap(data, bootstrapDeps(op));
  }, 60_000);
  afterAll(async () => {
    await op?.close();
    await peer?.close();
    caFile?.remove();
  });

  it('OpenID Connect Core 1.0 §9 private_key_jwt (inline jwks) authenticates at bc-authorize and at the token endpoint', async () => {
    const started = await bcAuthorize(await signedBy(inline.kid, claimsFor(inline.id, '/bc-authorize')));
    expect(started.status).toBe(200);
    const token = await post('/token', { grant_type: CIBA, auth_req_id: String(started.body['auth_req_id']), ...withAssertion(await signedBy(inline.kid, claimsFor(inline.id))) });
    // Authenticated: the request is still pending, which only its own client may learn (CIBA §11).
    expect(outcome(token)).toEqual({ status: 400, body: expect.objectContaining({ error: 'authorization_pending' }) });
  });

  it('RFC 7523 §3 (3) accepts the issuer as audience, and an array holding it', async () => {
    expect((await bcAuthorize(await signedBy(inline.kid, { ...claimsFor(inline.id), aud: op.config.issuer }))).status).toBe(200);
    expect((await bcAuthorize(await signedBy(inline.kid, { ...claimsFor(inline.id), aud: [op.config.issuer] }))).status).toBe(200);
  });

  it('OpenID Connect Core 1.0 §9 client_secret_jwt authenticates with an HMAC keyed with the secret, which is stored sealed', async () => {
    expect((await bcAuthorize(await hmacSigned(claimsFor(hmac.id, '/bc-authorize')))).status).toBe(200);
    const rows: { client_secret_sealed: string }[] = await op.db.dataSource.query(`SELECT client_secret_sealed FROM clients WHERE client_id = $1`, [hmac.id]);
    expect(rows[0].client_secret_sealed).toMatch(/^v1\./);
    expect(rows[0].client_secret_sealed).not.toContain(SECRET);
  });

  it('RFC 7591 §2 jwks_uri: fetched over HTTPS once, fetched again for an unknown kid, but at most once per interval however many unknown kids come', async () => {
    expect((await bcAuthorize(await signedBy(remote.kid, claimsFor(remote.id, '/bc-authorize')))).status).toBe(200);
    expect((await bcAuthorize(await signedBy(remote.kid, claimsFor(remote.id, '/bc-authorize')))).status).toBe(200);
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(1);

    // The client rotates in a new key; the provider learns of it at the next refetch allowed.
    await keyPair('remote-2');
    published = [keys[remote.kid].jwk, keys['remote-2'].jwk];
    op.clock.advance(61);
    expect((await bcAuthorize(await signedBy('remote-2', claimsFor(remote.id, '/bc-authorize')))).status).toBe(200);
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(2);

    // A flood of unknown kids within the interval: refused, and the client's server is left alone.
    await keyPair('never-published');
    for (let i = 0; i < 5; i++) {
      const assertion = await sign(claimsFor(remote.id, '/bc-authorize'), keys['never-published'].privateKey, { alg: 'ES256', kid: `unknown-${i}` });
      expect(outcome(await bcAuthorize(assertion))).toEqual(REFUSED);
    }
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(2);
  });

  describe('registration (bootstrap)', () => {
    const deps = () => bootstrapDeps(op);

    it('reloads private_key_jwt and client_secret_jwt clients as unchanged (the seal and the key set are kept)', async () => {
      const data = parseBootstrap({
        clients: [
          { client_id: 'rp-reload-keys', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [keys[inline.kid].jwk] } },
          { client_id: 'rp-reload-secret', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt' },
        ],
      });
      expect((await loadBootstrap(data, deps())).clients).toEqual({ written: 2, unchanged: 0 });
      expect((await loadBootstrap(data, deps())).clients).toEqual({ written: 0, unchanged: 2 });
    });

    it('refuses a jwks_uri the outbound policy forbids (SSRF), and a client_secret_jwt client without a key to seal its secret', async () => {
      const forbidden = parseBootstrap({ clients: [{ client_id: 'rp-internal', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://10.0.0.1/jwks' }] });
      await expect(loadBootstrap(forbidden, deps())).rejects.toThrow(/rp-internal: jwks_uri/);
      const unsealable = parseBootstrap({ clients: [{ client_id: 'rp-unsealed', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_jwt' }] });
      await expect(loadBootstrap(unsealable, { ...deps(), encryptor: null })).rejects.toThrow(/CIBA_KEY_ENCRYPTION_KEY/);
    });
  });

  describe('hostile assertions: every one is 401 invalid_client, saying nothing about which check failed, and counted by the throttle', () => {
    it.each<[string, () => Promise<string>]>([
      ['RFC 7523 §3 (7) a replayed jti', async () => {
        const assertion = await signedBy(inline.kid, claimsFor(inline.id, '/bc-authorize'));
        expect((await bcAuthorize(assertion)).status).toBe(200);
        return assertion;
      }],
      ['RFC 7523 §3 (4) an expired assertion', () => signedBy(inline.kid, { ...claimsFor(inline.id, '/bc-authorize'), exp: now() - 120, iat: now() - 180 })],
      ['RFC 7523 §3 (4) an assertion living longer than allowed', () => signedBy(inline.kid, { ...claimsFor(inline.id, '/bc-authorize'), exp: now() + 3600 })],
      ['RFC 7518 §3.6 alg none', () => Promise.resolve(new UnsecuredJWT({ ...claimsFor(inline.id, '/bc-authorize') }).encode())],
      ['RFC 8725 §2.1 HS256 keyed with the client public key (algorithm confusion)', () =>
        sign(claimsFor(inline.id, '/bc-authorize'), new TextEncoder().encode(JSON.stringify(keys[inline.kid].jwk)), { alg: 'HS256', kid: inline.kid })],
      ['RFC 7523 §3 (1) a wrong iss', () => signedBy(inline.kid, { ...claimsFor(inline.id, '/bc-authorize'), iss: hmac.id })],
      ['RFC 7523 §3 (2) a sub naming another client', () => signedBy(inline.kid, { ...claimsFor(inline.id, '/bc-authorize'), sub: hmac.id })],
      ['RFC 7523 §3 (3) an aud naming another server', () => signedBy(inline.kid, { ...claimsFor(inline.id), aud: 'https://other.example/token' })],
      ['RFC 7523 §3 (3) an aud naming the token endpoint at bc-authorize', () => signedBy(inline.kid, claimsFor(inline.id, '/token'))],
      ['RFC 7523 §3 (9) a signature by a key the client did not register', () => signedBy(remote.kid, claimsFor(inline.id, '/bc-authorize'))],
      ['RFC 7523 §3 an unknown client', () => signedBy(inline.kid, { ...claimsFor('nobody', '/bc-authorize') })],
      ['RFC 7517 §5 a jwks_uri serving private key material (the set is refused whole)', () => signedBy(leaky.kid, claimsFor(leaky.id, '/bc-authorize'))],
      ['an ES256 assertion from a client_secret_jwt client', () => signedBy(inline.kid, claimsFor(hmac.id, '/bc-authorize'))],
      ['OpenID Connect Registration §2 an algorithm other than the registered token_endpoint_auth_signing_alg', async () => {
        const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
        published = [...published, { ...(await exportJWK(publicKey)), kid: 'ps-1' }];
        return sign(claimsFor(remote.id, '/bc-authorize'), privateKey, { alg: 'PS256', kid: 'ps-1' });
      }],
    ])('refuses %s', async (_case, assertion) => {
      const failures = jest.spyOn(op.app.get(ClientAuthThrottle, { strict: false }), 'recordFailure');
      try {
        expect(outcome(await bcAuthorize(await assertion()))).toEqual(REFUSED);
        expect(failures).toHaveBeenCalledTimes(1);
      } finally {
        failures.mockRestore();
      }
    });

    it('RFC 7521 §4.2 refuses a client_id parameter that disagrees with the assertion', async () => {
      expect(outcome(await bcAuthorize(await signedBy(inline.kid, claimsFor(inline.id, '/bc-authorize')), { client_id: hmac.id }))).toEqual(REFUSED);
    });

    it('RFC 7521 §4.2.1 refuses a malformed or oversized assertion with invalid_client', async () => {
      for (const assertion of ['not-a-jwt', 'a.b', `${'A'.repeat(9000)}.${'B'.repeat(10)}.C`]) {
        const res = await bcAuthorize(assertion);
        expect(res.status).toBe(401);
        expect(res.body['error']).toBe('invalid_client');
      }
    });
  });
});
