import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { type HttpsPeer, replyJson, selfSignedCert, startHttpsPeer, temporaryFile } from '@ciba/testing';
import { SecretHasher } from '@ciba/tokens';
import { CIBA, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Signing optional: client_secret_basic with public keys registered inline. */
const optional = { id: 'rp-signs-sometimes', secret: 'rp-signs-sometimes-secret', method: 'basic' as const } satisfies TestClient;
/** Signing required with PS256 (backchannel_authentication_request_signing_alg). */
const required = { id: 'rp-signs-always', secret: 'rp-signs-always-secret', method: 'post' as const } satisfies TestClient;
/** private_key_jwt with a jwks_uri: one key set for its assertions and its request objects. */
const remote = { id: 'rp-signs-jwks-uri', kid: 'remote-1' };

describe('signed authentication requests (CIBA Core 1.0 §7.1.1) at bc-authorize', () => {
  let op: TestProvider;
  let peer: HttpsPeer;
  let caFile: { path: string; remove(): void };
  const keys: Record<string, { privateKey: CryptoKey; jwk: JWK }> = {};

  async function keyPair(kid: string, alg: 'ES256' | 'PS256') {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    keys[kid] = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg } };
  }

  const now = () => Math.floor(op.clock.now().getTime() / 1000);
  const claimsFor = (clientId: string, params: Record<string, unknown> = {}): Record<string, unknown> => ({
    iss: clientId,
    aud: op.config.issuer,
    exp: now() + 300,
    iat: now(),
    nbf: now(),
    jti: randomUUID(),
    scope: 'openid',
    login_hint: 'alice',
    ...params,
  });
  const sign = (claims: Record<string, unknown>, kid = 'optional-es', alg = 'ES256') =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(keys[kid].privateKey);

  const expectRefused = (res: HttpResult, description: string | RegExp) => {
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
    expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
    expect(res.body['error_description']).toEqual(typeof description === 'string' ? description : expect.stringMatching(description));
  };

  async function post(path: string, params: Record<string, string>): Promise<HttpResult> {
    const res = await fetch(`${op.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    const tls = selfSignedCert();
    caFile = temporaryFile('ca.pem', tls.cert);
    await keyPair('optional-es', 'ES256');
    await keyPair('required-ps', 'PS256');
    await keyPair('required-es', 'ES256');
    await keyPair(remote.kid, 'ES256');
    peer = await startHttpsPeer(tls, (req, res) => {
      if (req.url === '/jwks') replyJson(res, 200, { keys: [keys[remote.kid].jwk] });
      else replyJson(res, 404, {});
    });
    op = await startTestProvider({ CIBA_CALLBACK_CA_FILE: caFile.path });
    const data = parseBootstrap({
      clients: [
        { client_id: optional.id, client_secret: optional.secret, grant_types: [CIBA], scope: 'openid email', jwks: { keys: [keys['optional-es'].jwk] } },
        {
          client_id: required.id,
          client_secret: required.secret,
          token_endpoint_auth_method: 'client_secret_post',
          grant_types: [CIBA],
          jwks: { keys: [keys['required-ps'].jwk, keys['required-es'].jwk] },
          backchannel_authentication_request_signing_alg: 'PS256',
        },
        { client_id: remote.id, token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${peer.origin}/jwks`, grant_types: [CIBA] },
      ],
    });
    await loadBootstrap(data, {
      clients: new TypeOrmClientRepository(op.db.dataSource),
      users: new TypeOrmUserRepository(op.db.dataSource),
      hasher: new SecretHasher(),
      signingAlgs: op.config.keys.signingAlgs,
      endpoints: notificationEndpointPolicy(op.config),
    });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
    await peer?.close();
    caFile?.remove();
  });

  it('§7.1.1 a signed request starts a flow with the request object parameters', async () => {
    const message = uniqueMessage('signed');
    const res = await op.form('/bc-authorize', { request: await sign(claimsFor(optional.id, { binding_message: message, requested_expiry: 90 })) }, optional);
    expect(res.status).toBe(200);
    expect(res.body['expires_in']).toBe(90);
    const { body } = await op.notification((b) => b['binding_message'] === message);
    expect(body['login_hint']).toBe('alice');
  });

  it('§7.1.1 parameters outside the request object are ignored', async () => {
    const inside = uniqueMessage('inside');
    const outside = uniqueMessage('outside');
    const res = await op.form(
      '/bc-authorize',
      { request: await sign(claimsFor(optional.id, { binding_message: inside })), scope: 'openid email', login_hint: 'bob', binding_message: outside, requested_expiry: '5' },
      optional,
    );
    expect(res.status).toBe(200);
    expect(res.body['expires_in']).not.toBe(5);
    const { body } = await op.notification((b) => b['binding_message'] === inside);
    expect(body['login_hint']).toBe('alice');
    expect(body['scope']).toBe('openid');
  });

  it('§7.1.1 the request object parameters pass the same checks as form parameters', async () => {
    expectRefused(await op.form('/bc-authorize', { request: await sign(claimsFor(optional.id, { scope: 'profile' })) }, optional), 'scope must include openid');
    const res = await op.form('/bc-authorize', { request: await sign(claimsFor(optional.id, { login_hint: 'mallory@example.com' })) }, optional);
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'unknown_user_id' });
  });

  it('§7.1.1 an unsigned request is still accepted from a client that registered no signing alg', async () => {
    expect((await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, optional)).status).toBe(200);
  });

  it('§7.1 client authentication comes first: a signed request does not authenticate the client', async () => {
    const res = await op.form('/bc-authorize', { request: await sign(claimsFor(optional.id)) }, { ...optional, secret: 'wrong-secret-value' });
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
    const anonymous = await op.form('/bc-authorize', { request: await sign(claimsFor(optional.id)) }, null);
    expect({ status: anonymous.status, error: anonymous.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('keys registered to sign requests do not let a client_secret_basic client authenticate by private_key_jwt', async () => {
    const assertion = await sign({ iss: optional.id, sub: optional.id, aud: `${op.url}/bc-authorize`, exp: now() + 60, iat: now(), jti: randomUUID() });
    const res = await post('/bc-authorize', { client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: 'openid', login_hint: 'alice' });
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 401, error: 'invalid_client' });
  });

  it('§7.1.1 a replayed jti is refused, in PostgreSQL apart from client assertions', async () => {
    const request = await sign(claimsFor(optional.id));
    expect((await op.form('/bc-authorize', { request }, optional)).status).toBe(200);
    expectRefused(await op.form('/bc-authorize', { request }, optional), "the request object's jti has already been used");
    const rows: { n: string }[] = await op.db.dataSource.query(`SELECT count(*) AS n FROM client_assertion_jtis WHERE client_id = $1`, [optional.id]);
    expect(Number(rows[0].n)).toBeGreaterThanOrEqual(1);
  });

  it('§7.1.1 a jwks_uri client signs its request with the key set that authenticates it; one jti may serve both', async () => {
    const jti = randomUUID();
    const assertion = await new SignJWT({ iss: remote.id, sub: remote.id, aud: `${op.url}/bc-authorize`, exp: now() + 60, iat: now(), jti })
      .setProtectedHeader({ alg: 'ES256', kid: remote.kid })
      .sign(keys[remote.kid].privateKey);
    const request = await sign({ ...claimsFor(remote.id), jti }, remote.kid);
    const res = await post('/bc-authorize', { client_assertion_type: JWT_BEARER, client_assertion: assertion, request });
    expect(res.status).toBe(200);
    // One fetch of the client's keys served the assertion and the request object.
    expect(peer.requests.filter((r) => r.url === '/jwks')).toHaveLength(1);
  });

  describe('§4 backchannel_authentication_request_signing_alg', () => {
    it('§4 is stored with the client', async () => {
      const rows: { alg: string | null }[] = await op.db.dataSource.query(
        `SELECT backchannel_authentication_request_signing_alg AS alg FROM clients WHERE client_id = $1`,
        [required.id],
      );
      expect(rows[0].alg).toBe('PS256');
    });

    it('§4 an unsigned request from a client that registered it is invalid_request', async () => {
      expectRefused(
        await op.form('/bc-authorize', { scope: 'openid', login_hint: 'alice' }, required),
        'this client must send a signed authentication request (the request parameter, alg PS256)',
      );
    });

    it('§4 a request signed with another supported algorithm is invalid_request', async () => {
      expectRefused(
        await op.form('/bc-authorize', { request: await sign(claimsFor(required.id), 'required-es', 'ES256') }, required),
        "the request object's alg must be PS256, as registered for this client",
      );
    });

    it('§4 a request signed with the registered algorithm is accepted', async () => {
      expect((await op.form('/bc-authorize', { request: await sign(claimsFor(required.id), 'required-ps', 'PS256') }, required)).status).toBe(200);
    });
  });

  describe('§7.1.1 hostile request objects: each 400 invalid_request naming what is wrong', () => {
    const cases: [string, () => Promise<string> | string, string | RegExp][] = [
      ['alg none', () => new UnsecuredJWT(claimsFor(optional.id)).encode(), 'the request object must be signed: alg none is not allowed'],
      ['an HMAC with the client secret', async () => new SignJWT(claimsFor(optional.id)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(optional.secret.padEnd(32, 'x'))), /alg must be one of/],
      ['a key the client did not register', async () => sign(claimsFor(optional.id), 'required-es'), "the request object's signature does not verify with the client's registered keys"],
      ['expired', async () => sign(claimsFor(optional.id, { iat: now() - 600, nbf: now() - 600, exp: now() - 60 })), 'the request object has expired (exp)'],
      ['exp too far after iat', async () => sign(claimsFor(optional.id, { exp: now() + 3601 })), "the request object's exp is more than 60 minutes after its iat"],
      ['nbf in the future', async () => sign(claimsFor(optional.id, { nbf: now() + 120 })), "the request object's nbf is in the future"],
      ['iat too old', async () => sign(claimsFor(optional.id, { iat: now() - 3700, nbf: now() - 60 })), "the request object's iat is more than 60 minutes old"],
      ['the wrong aud', async () => sign(claimsFor(optional.id, { aud: `${op.url}/token` })), "the request object's aud must be the issuer or the backchannel authentication endpoint URL"],
      ['the wrong iss', async () => sign(claimsFor(optional.id, { iss: required.id })), "the request object's iss must be the client's client_id"],
      ['another client’s object', async () => sign(claimsFor(required.id)), "the request object's iss must be the client's client_id"],
      ['a huge object', async () => sign(claimsFor(optional.id, { filler: 'x'.repeat(9000) })), 'parameter request must be at most 8192 characters'],
      ['garbage', () => 'not-a-jwt', 'the request object must be a signed JWT (JWS Compact Serialization)'],
      ['an encrypted object', () => 'a.b.c.d.e', 'the request object must be a signed JWT (JWS Compact Serialization)'],
      ['a header that is not JSON', () => `${Buffer.from('{nope').toString('base64url')}.e30.c2ln`, "the request object's header is not valid JSON"],
      ['a nested request object', async () => sign(claimsFor(optional.id, { request: 'a.b.c' })), 'a request object cannot contain another request object'],
      ['a claim of the wrong type', async () => sign(claimsFor(optional.id, { scope: ['openid'] })), "the request object's scope claim must be a string"],
      ...(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'] as const).map((name): [string, () => Promise<string>, string] => [
        `no ${name}`,
        async () => {
          const claims = claimsFor(optional.id);
          delete claims[name];
          return sign(claims);
        },
        `the request object's ${name} is missing`,
      ]),
    ];

    it.each(cases)('§7.1.1 refuses a request object with %s', async (_what, build, description) => {
      const res = await op.form('/bc-authorize', { request: await build() }, optional);
      expectRefused(res, description);
      expect(String(res.body['error_description'])).not.toContain(optional.secret);
    });
  });

  it('§4 discovery lists exactly the algorithms a request object may use', async () => {
    const doc = (await (await fetch(`${op.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc['backchannel_authentication_request_signing_alg_values_supported']).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
  });
});
