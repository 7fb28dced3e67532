import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type CryptoKey, type JWK, SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { loadBootstrap } from '@ciba/platform';
import { freePort } from '@ciba/testing';
import { sha256Base64url } from '@ciba/tokens';
import { createAllInOneApp } from '../src/all-in-one.js';
import { CIBA, bootstrapDeps, CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** A client registered with RFC 9449 §5.2 dpop_bound_access_tokens. */
const BOUND: TestClient = { id: 'dpop-bound', secret: 'dpop-bound-secret', method: 'basic' };

interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
  readonly jkt: string;
}

async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

describe('DPoP (RFC 9449) at the token endpoint and UserInfo, against PostgreSQL', () => {
  let op: TestProvider;
  let replica: NestExpressApplication;
  let replicaUrl: string;
  let key: DpopKey;

  beforeAll(async () => {
    op = await startTestProvider();
    await loadBootstrap(
      parseBootstrap({
        clients: [{ client_id: BOUND.id, client_secret: BOUND.secret, grant_types: [CIBA, 'refresh_token'], scope: 'openid profile offline_access', dpop_bound_access_tokens: true }],
      }),
      bootstrapDeps(op),
    );
    // A second replica on the same database and keys, behind the same public URL.
    const port = await freePort();
    replica = await createAllInOneApp({ ...op.config, http: { ...op.config.http, port } }, { devDevice: false, clock: op.clock });
    await replica.listen(port, '127.0.0.1');
    replicaUrl = `http://127.0.0.1:${port}`;
    key = await dpopKey();
  });
  afterAll(async () => {
    await replica.close();
    await op.close();
  });

  const tokenUrl = () => `${op.url}/token`;
  const userinfoUrl = () => `${op.url}/userinfo`;

  function proof(options: { htm?: string; htu?: string; nonce?: string | null; accessToken?: string; key?: DpopKey; jti?: string; iat?: number } = {}): Promise<string> {
    const signer = options.key ?? key;
    return new SignJWT({
      jti: options.jti ?? randomUUID(),
      htm: options.htm ?? 'POST',
      htu: options.htu ?? tokenUrl(),
      iat: options.iat ?? Math.floor(op.clock.now().getTime() / 1000),
      ...(options.nonce ? { nonce: options.nonce } : {}),
      ...(options.accessToken === undefined ? {} : { ath: sha256Base64url(options.accessToken) }),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: signer.jwk })
      .sign(signer.privateKey);
  }

  async function tokenRequest(params: Record<string, string>, dpop: string | string[] | null, client: TestClient = CLIENTS.basic, base = op.url): Promise<HttpResult> {
    const headers = new Headers({
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
    });
    for (const value of dpop === null ? [] : Array.isArray(dpop) ? dpop : [dpop]) headers.append('DPoP', value);
    const res = await fetch(`${base}/token`, { method: 'POST', headers, body: new URLSearchParams(params) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  /** A nonce, fetched as a client does: a proof without one is answered use_dpop_nonce with DPoP-Nonce. */
  async function freshNonce(): Promise<string> {
    const res = await tokenRequest({ grant_type: CIBA, auth_req_id: 'x' }, await proof());
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'use_dpop_nonce' });
    return res.headers.get('dpop-nonce') ?? '';
  }

  /** An approved poll request of `client` for alice, ready to be redeemed. */
  async function approved(client: TestClient = CLIENTS.basic, scope = 'openid profile offline_access'): Promise<string> {
    const message = uniqueMessage('dpop');
    const { authReqId } = await op.authorize({ scope, binding_message: message }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    return authReqId;
  }

  async function boundTokens(client: TestClient = CLIENTS.basic): Promise<Record<string, unknown>> {
    const authReqId = await approved(client);
    const res = await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, await proof({ nonce: await freshNonce() }), client);
    expect(res.status).toBe(200);
    return res.body;
  }

  function userinfo(accessToken: string, scheme: string, dpop: string | null): Promise<Response> {
    return fetch(userinfoUrl(), { headers: { authorization: `${scheme} ${accessToken}`, ...(dpop === null ? {} : { DPoP: dpop }) } });
  }

  describe('the token endpoint', () => {
    it('RFC 9449 §8 a proof without the server nonce is use_dpop_nonce (400) with the nonce in DPoP-Nonce', async () => {
      const res = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, await proof());
      expect({ status: res.status, error: res.body['error'], nonce: res.headers.get('dpop-nonce') }).toEqual({ status: 400, error: 'use_dpop_nonce', nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('RFC 9449 §5 / §6.1 a valid proof binds the access token: token_type DPoP, cnf.jkt the proof key thumbprint', async () => {
      const nonce = await freshNonce();
      const res = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, await proof({ nonce }));
      // RFC 9449 §8.2: the current nonce on the success too, for the client's next proof.
      expect({ status: res.status, nonce: res.headers.get('dpop-nonce') }).toEqual({ status: 200, nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      const body = res.body;
      expect(body['token_type']).toBe('DPoP');
      expect(decodeJwt(String(body['access_token']))['cnf']).toEqual({ jkt: key.jkt });
      // The ID token is no access token: never bound.
      expect(decodeJwt(String(body['id_token']))).not.toHaveProperty('cnf');
    });

    it('without a proof the client gets a Bearer token, as before', async () => {
      const res = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, null);
      expect({ status: res.status, type: res.body['token_type'] }).toEqual({ status: 200, type: 'Bearer' });
      expect(decodeJwt(String(res.body['access_token']))).not.toHaveProperty('cnf');
    });

    it('RFC 9449 §11.1 a replayed proof is refused, also by another replica (jti single-use across replicas)', async () => {
      const nonce = await freshNonce();
      const once = await proof({ nonce, htu: tokenUrl() });
      const first = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, once);
      expect(first.status).toBe(200);
      const again = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, once);
      expect({ status: again.status, error: again.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
      const elsewhere = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, once, CLIENTS.basic, replicaUrl);
      expect({ status: elsewhere.status, error: elsewhere.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
      // The other way round: first at the replica, then here. The nonce is valid on both (no shared state).
      const twice = await proof({ nonce });
      expect((await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, twice, CLIENTS.basic, replicaUrl)).status).toBe(200);
      expect((await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, twice)).body['error']).toBe('invalid_dpop_proof');
    });

    it('RFC 9449 §11.1 two replicas given the same proof at once: exactly one accepts it', async () => {
      const nonce = await freshNonce();
      const same = await proof({ nonce });
      const [a, b] = await Promise.all([
        tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, same),
        tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, same, CLIENTS.basic, replicaUrl),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 400]);
    });

    it('RFC 9449 §4.3 (8) (9) a proof for another method or another URI is invalid_dpop_proof; the grant is not used', async () => {
      const nonce = await freshNonce();
      const authReqId = await approved();
      for (const bad of [await proof({ nonce, htm: 'GET' }), await proof({ nonce, htu: userinfoUrl() }), await proof({ nonce, htu: 'https://attacker.example/token' })]) {
        const res = await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, bad);
        expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
      }
      // Still redeemable: the proof is checked before the grant.
      expect((await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, await proof({ nonce }))).status).toBe(200);
    });

    it('RFC 9449 §4.3 (1) two DPoP headers, a malformed or an alg none proof is invalid_dpop_proof (never a 500)', async () => {
      const nonce = await freshNonce();
      const authReqId = await approved();
      const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })).toString('base64url')}.${Buffer.from(JSON.stringify({ jti: 'n', htm: 'POST', htu: tokenUrl(), iat: Math.floor(Date.now() / 1000), nonce })).toString('base64url')}.`;
      for (const bad of [[await proof({ nonce }), await proof({ nonce })], 'not-a-jwt', none, 'a'.repeat(9000)]) {
        const res = await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, bad);
        expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
      }
    });

    it('RFC 9449 §4.3 (11) a proof created outside the iat window is invalid_dpop_proof', async () => {
      const nonce = await freshNonce();
      const now = Math.floor(op.clock.now().getTime() / 1000);
      const res = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, await proof({ nonce, iat: now - 3600 }));
      expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    });

    it('RFC 9449 §8 a stale nonce (two lifetimes old) is use_dpop_nonce again, with a fresh one', async () => {
      const nonce = await freshNonce();
      op.clock.advance(2 * 300);
      try {
        const res = await tokenRequest({ grant_type: CIBA, auth_req_id: 'x' }, await proof({ nonce }));
        expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'use_dpop_nonce' });
        expect(res.headers.get('dpop-nonce')).not.toBe(nonce);
      } finally {
        op.clock.advance(-2 * 300);
      }
    });

    it('RFC 9449 §5.2 a client registered with dpop_bound_access_tokens must send a proof', async () => {
      const authReqId = await approved(BOUND);
      const without = await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, null, BOUND);
      expect({ status: without.status, error: without.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
      const withProof = await tokenRequest({ grant_type: CIBA, auth_req_id: authReqId }, await proof({ nonce: await freshNonce() }), BOUND);
      expect({ status: withProof.status, type: withProof.body['token_type'] }).toEqual({ status: 200, type: 'DPoP' });
    });

    it('RFC 9449 §5 refresh: the refresh token is not bound; a proof gives a DPoP-bound access token, none a Bearer one', async () => {
      const first = await boundTokens();
      const withProof = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) }, await proof({ nonce: await freshNonce() }));
      expect({ status: withProof.status, type: withProof.body['token_type'] }).toEqual({ status: 200, type: 'DPoP' });
      expect(decodeJwt(String(withProof.body['access_token']))['cnf']).toEqual({ jkt: key.jkt });
      const plain = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(withProof.body['refresh_token']) }, null);
      expect({ status: plain.status, type: plain.body['token_type'] }).toEqual({ status: 200, type: 'Bearer' });
    });

    it('RFC 9449 §5.2 a dpop_bound_access_tokens client cannot refresh without a proof', async () => {
      const first = await boundTokens(BOUND);
      const without = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) }, null, BOUND);
      expect({ status: without.status, error: without.body['error'] }).toEqual({ status: 400, error: 'invalid_dpop_proof' });
    });

    it('RFC 7662 §2.2 / RFC 9449 §6.2 introspection of a bound token: token_type DPoP and cnf.jkt', async () => {
      const body = await boundTokens();
      const res = await op.form('/token/introspect', { token: String(body['access_token']) }, CLIENTS.basic);
      expect(res.body).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } });
    });
  });

  describe('UserInfo (a protected resource)', () => {
    /** The nonce UserInfo hands out, as a client learns it there. */
    async function resourceNonce(accessToken: string): Promise<string> {
      const res = await userinfo(accessToken, 'DPoP', await proof({ htm: 'GET', htu: userinfoUrl(), accessToken }));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
      return res.headers.get('dpop-nonce') ?? '';
    }

    it('RFC 9449 §7.1 a bound token with the DPoP scheme and a proof (ath, nonce) gets the claims', async () => {
      const accessToken = String((await boundTokens())['access_token']);
      const nonce = await resourceNonce(accessToken);
      const res = await userinfo(accessToken, 'DPoP', await proof({ htm: 'GET', htu: userinfoUrl(), accessToken, nonce }));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: 'alice', name: 'Alice Example' });
    });

    it('RFC 9449 §7.2 a DPoP-bound token used as a Bearer token is invalid_token', async () => {
      const accessToken = String((await boundTokens())['access_token']);
      const res = await userinfo(accessToken, 'Bearer', null);
      expect(res.status).toBe(401);
      expect(((await res.json()) as Record<string, unknown>)['error']).toBe('invalid_token');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="ciba", error="invalid_token".*, DPoP algs="ES256 PS256 EdDSA RS256"$/);
    });

    it('RFC 9449 §7.1 no proof, a proof by another key, without ath, or for another URI: 401 invalid_dpop_proof in the DPoP challenge', async () => {
      const accessToken = String((await boundTokens())['access_token']);
      const nonce = await resourceNonce(accessToken);
      const other = await dpopKey();
      const cases = [
        null,
        await proof({ htm: 'GET', htu: userinfoUrl(), accessToken, nonce, key: other }),
        await proof({ htm: 'GET', htu: userinfoUrl(), nonce }),
        await proof({ htm: 'GET', htu: userinfoUrl(), accessToken: 'another.access.token', nonce }),
        await proof({ htm: 'GET', htu: tokenUrl(), accessToken, nonce }),
        await proof({ htm: 'POST', htu: userinfoUrl(), accessToken, nonce }),
      ];
      for (const dpop of cases) {
        const res = await userinfo(accessToken, 'DPoP', dpop);
        expect({ status: res.status, error: ((await res.json()) as Record<string, unknown>)['error'] }).toEqual({ status: 401, error: 'invalid_dpop_proof' });
        expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof", error_description="[^"]*", algs="ES256 PS256 EdDSA RS256", Bearer realm="ciba"$/);
      }
    });

    it('RFC 9449 §11.1 a proof is single-use at the resource too', async () => {
      const accessToken = String((await boundTokens())['access_token']);
      const nonce = await resourceNonce(accessToken);
      const once = await proof({ htm: 'GET', htu: userinfoUrl(), accessToken, nonce });
      expect((await userinfo(accessToken, 'DPoP', once)).status).toBe(200);
      expect((await userinfo(accessToken, 'DPoP', once)).status).toBe(401);
    });

    it('a Bearer (unbound) token presented with the DPoP scheme is invalid_token; as Bearer it works as before', async () => {
      const res = await tokenRequest({ grant_type: CIBA, auth_req_id: await approved() }, null);
      const accessToken = String(res.body['access_token']);
      const asDpop = await userinfo(accessToken, 'DPoP', await proof({ htm: 'GET', htu: userinfoUrl(), accessToken }));
      expect({ status: asDpop.status, error: ((await asDpop.json()) as Record<string, unknown>)['error'] }).toEqual({ status: 401, error: 'invalid_token' });
      expect((await userinfo(accessToken, 'Bearer', null)).status).toBe(200);
    });
  });
});
