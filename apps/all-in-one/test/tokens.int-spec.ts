import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JSONWebKeySet, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { KeyStore } from '@ciba/tokens';
import { requestIdIn } from '@ciba/testing';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const AUTH_REQ_ID_CLAIM = 'urn:openid:params:jwt:claim:auth_req_id';

interface Issued {
  readonly authReqId: string;
  readonly tokens: Record<string, unknown>;
  /** Wall-clock bounds around the device's decision, ms. */
  readonly decidedAfter: number;
  readonly decidedBefore: number;
}

/** OIDC Core §3.1.3.6: left-most half of SHA-256 of the ASCII access token, base64url. */
function leftHalfSha256(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function expectError(res: HttpResult, status: number, error: string): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status, error });
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
}

async function fetchJwks(op: TestProvider): Promise<JSONWebKeySet> {
  const res = await fetch(`${op.url}/jwks`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

/** A full approved flow: bc-authorize, the device says SUCCEED, the client redeems. */
async function issue(op: TestProvider, scope: string, client: TestClient = CLIENTS.basic): Promise<Issued> {
  const message = uniqueMessage('tokens');
  const { authReqId } = await op.authorize({ scope, binding_message: message }, client);
  const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
  const decidedAfter = Date.now();
  expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
  const decidedBefore = Date.now();
  const res = await op.token(authReqId, client);
  expect(res.status).toBe(200);
  return { authReqId, tokens: res.body, decidedAfter, decidedBefore };
}

function refresh(op: TestProvider, refreshToken: string, client: TestClient = CLIENTS.basic, scope?: string): Promise<HttpResult> {
  return op.form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...(scope === undefined ? {} : { scope }) }, client);
}

describe('tokens issued by the token endpoint', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  describe('ID token (OIDC Core §2, §3.1.3.6; CIBA §10.3.1)', () => {
    it('§10.3.1 ES256 ID token verifying against the JWKS with iss, aud, sub, exp, iat, auth_time, at_hash and the auth_req_id claim', async () => {
      const { authReqId, tokens, decidedAfter, decidedBefore } = await issue(op, 'openid');
      const idToken = String(tokens['id_token']);
      const jwks = await fetchJwks(op);
      const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
        issuer: op.url,
        audience: CLIENTS.basic.id,
        algorithms: ['ES256'],
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(jwks.keys.map((k) => k.kid)).toContain(protectedHeader.kid);
      expect(payload.sub).toBe('alice');
      expect(payload.aud).toBe(CLIENTS.basic.id);
      expect(typeof payload.iat).toBe('number');
      expect(payload.exp).toBeGreaterThan(payload.iat!);
      expect(payload['auth_time']).toBeGreaterThanOrEqual(Math.floor(decidedAfter / 1000));
      expect(payload['auth_time']).toBeLessThanOrEqual(Math.floor(decidedBefore / 1000));
      expect(payload['at_hash']).toBe(leftHalfSha256(String(tokens['access_token'])));
      expect(payload[AUTH_REQ_ID_CLAIM]).toBe(authReqId);
    });

    it('§2 auth_time is when the user decided (stored with the request), not when the tokens were redeemed', async () => {
      const message = uniqueMessage('auth time');
      const { authReqId } = await op.authorize({ binding_message: message });
      const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
      expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
      // As if the user had decided two minutes before the client redeemed.
      await op.db.dataSource.query(`UPDATE auth_requests SET decided_at = decided_at - interval '120 seconds' WHERE id = $1`, [requestIdIn(authReqId)]);
      const rows: { decided_at: Date }[] = await op.db.dataSource.query('SELECT decided_at FROM auth_requests WHERE id = $1', [requestIdIn(authReqId)]);
      const res = await op.token(authReqId);
      expect(res.status).toBe(200);
      const { payload } = await jwtVerify(String(res.body['id_token']), createLocalJWKSet(await fetchJwks(op)), { issuer: op.url, audience: CLIENTS.basic.id });
      expect(payload['auth_time']).toBe(Math.floor(new Date(rows[0].decided_at).getTime() / 1000));
      expect(payload.iat! - (payload['auth_time'] as number)).toBeGreaterThanOrEqual(119);
    });

    it('§5.4 profile and email claims only when those scopes were requested', async () => {
      const jwks = createLocalJWKSet(await fetchJwks(op));
      const verify = async (tokens: Record<string, unknown>, audience: string) =>
        (await jwtVerify(String(tokens['id_token']), jwks, { issuer: op.url, audience })).payload;

      const bare = await verify((await issue(op, 'openid')).tokens, CLIENTS.basic.id);
      for (const claim of ['name', 'email', 'email_verified', 'phone_number', 'phone_number_verified']) expect(bare).not.toHaveProperty(claim);

      const full = await verify((await issue(op, 'openid profile email')).tokens, CLIENTS.basic.id);
      expect(full).toMatchObject({ name: 'Alice Example', email: 'alice@example.com', email_verified: true });
      expect(full).not.toHaveProperty('phone_number');

      const profileOnly = await verify((await issue(op, 'openid profile', CLIENTS.post)).tokens, CLIENTS.post.id);
      expect(profileOnly).toMatchObject({ name: 'Alice Example', sub: 'alice' });
      expect(profileOnly).not.toHaveProperty('email');
    });
  });

  describe('access token (RFC 9068)', () => {
    it('RFC 9068 §2 a JWT with typ at+jwt and iss, sub, aud, client_id, scope, exp, iat, jti, verifying against the JWKS', async () => {
      const { tokens } = await issue(op, 'openid profile');
      expect(tokens).toMatchObject({ token_type: 'Bearer', scope: 'openid profile' });
      expect(typeof tokens['expires_in']).toBe('number');
      const accessToken = String(tokens['access_token']);
      expect(decodeProtectedHeader(accessToken).typ).toBe('at+jwt');
      const { payload, protectedHeader } = await jwtVerify(accessToken, createLocalJWKSet(await fetchJwks(op)), {
        issuer: op.url,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
      expect(payload).toMatchObject({ iss: op.url, sub: 'alice', client_id: CLIENTS.basic.id, scope: 'openid profile' });
      expect(payload.aud).toBeTruthy();
      expect(typeof payload.jti).toBe('string');
      expect(payload.jti!.length).toBeGreaterThanOrEqual(16);
      expect(typeof payload.iat).toBe('number');
      expect(payload.exp).toBe(payload.iat! + (tokens['expires_in'] as number));
    });

    it('RFC 9068 §2.2 each access token has its own jti', async () => {
      const jwks = createLocalJWKSet(await fetchJwks(op));
      const [a, b] = await Promise.all([issue(op, 'openid'), issue(op, 'openid')]);
      const jtiOf = async (tokens: Record<string, unknown>) => (await jwtVerify(String(tokens['access_token']), jwks, { issuer: op.url })).payload.jti;
      expect(await jtiOf(a.tokens)).not.toBe(await jtiOf(b.tokens));
    });
  });

  describe('refresh token (RFC 6749 §1.5, §6)', () => {
    it('§1.5 present when the client has the refresh_token grant and scope includes offline_access', async () => {
      const { tokens } = await issue(op, 'openid offline_access');
      expect(typeof tokens['refresh_token']).toBe('string');
      expect(String(tokens['refresh_token']).length).toBeGreaterThanOrEqual(32);
    });

    it('§1.5 absent without offline_access', async () => {
      const { tokens } = await issue(op, 'openid');
      expect(tokens).not.toHaveProperty('refresh_token');
    });

    it('§1.5 absent for a client without the refresh_token grant even when it asks for offline_access', async () => {
      const { tokens } = await issue(op, 'openid offline_access', CLIENTS.post);
      expect(tokens).not.toHaveProperty('refresh_token');
    });

    it('§6 refresh returns new tokens and a new refresh token; the old one is then invalid_grant (rotation)', async () => {
      const { tokens } = await issue(op, 'openid offline_access');
      const first = String(tokens['refresh_token']);
      const res = await refresh(op, first);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'openid offline_access' });
      const second = String(res.body['refresh_token']);
      expect(typeof res.body['refresh_token']).toBe('string');
      expect(second).not.toBe(first);
      expect(res.body['access_token']).not.toBe(tokens['access_token']);
      const jwks = createLocalJWKSet(await fetchJwks(op));
      const { payload } = await jwtVerify(String(res.body['id_token']), jwks, { issuer: op.url, audience: CLIENTS.basic.id });
      expect(payload.sub).toBe('alice');
      expect(payload['at_hash']).toBe(leftHalfSha256(String(res.body['access_token'])));
      const original = await jwtVerify(String(tokens['id_token']), jwks, { issuer: op.url, audience: CLIENTS.basic.id });
      expect(payload['auth_time']).toBe(original.payload['auth_time']);

      // The successor works and rotates in turn; the old one is then invalid_grant (replaying it
      // also revokes the grant's refresh tokens: refresh-token-reuse.int-spec.ts).
      const third = await refresh(op, second);
      expect(third.status).toBe(200);
      expect(third.body['refresh_token']).not.toBe(second);
      expectError(await refresh(op, first), 400, 'invalid_grant');
    });

    it('§6 a scope wider than the original grant is invalid_scope, and does not use up the refresh token', async () => {
      const { tokens } = await issue(op, 'openid offline_access');
      const refreshToken = String(tokens['refresh_token']);
      expectError(await refresh(op, refreshToken, CLIENTS.basic, 'openid offline_access email'), 400, 'invalid_scope');
      expect((await refresh(op, refreshToken)).status).toBe(200);
    });

    it('§6 a refresh token presented by another client is invalid_grant, and does not use it up', async () => {
      const { tokens } = await issue(op, 'openid offline_access');
      const refreshToken = String(tokens['refresh_token']);
      // no-ciba is registered for refresh_token, so only the token's binding to its client can reject it.
      expectError(await refresh(op, refreshToken, CLIENTS.noCiba), 400, 'invalid_grant');
      expect((await refresh(op, refreshToken)).status).toBe(200);
    });

    it('§6 an unknown refresh token is invalid_grant', async () => {
      expectError(await refresh(op, 'not-a-refresh-token-0123456789abcdefghijkl'), 400, 'invalid_grant');
    });
  });
});

describe('signing key rotation', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider();
  });
  afterAll(async () => {
    await op.close();
  });

  it('after KeyStore.rotate the JWKS has both keys at once, new tokens carry the new kid once it is active, and a token signed before still verifies', async () => {
    const before = await issue(op, 'openid');
    const oldIdToken = String(before.tokens['id_token']);
    const oldKid = decodeProtectedHeader(oldIdToken).kid;
    const published = (await fetchJwks(op)).keys;
    expect(published.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    expect(published.find((k) => k.alg === 'ES256')?.kid).toBe(oldKid);

    // Every enabled algorithm gets its new key; the client's tokens are ES256 (the default).
    const rotatedKeys = await op.app.get(KeyStore).rotate(600);
    expect(rotatedKeys.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    const rotated = rotatedKeys.find((k) => k.alg === 'ES256')!;
    expect(rotated.kid).not.toBe(oldKid);

    const jwks = await fetchJwks(op);
    expect(jwks.keys).toHaveLength(4);
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...published.map((k) => k.kid), ...rotatedKeys.map((k) => k.kid)].sort());
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');

    // Publish before use: until the activation delay has passed, the old key keeps signing.
    const during = await issue(op, 'openid');
    expect(decodeProtectedHeader(String(during.tokens['id_token'])).kid).toBe(oldKid);
    op.clock.advance((rotated.activatesAt.getTime() - op.clock.now().getTime()) / 1000 + 1);
    await op.app.get(KeyStore).refresh();

    const after = await issue(op, 'openid');
    const newIdToken = String(after.tokens['id_token']);
    expect(decodeProtectedHeader(newIdToken).kid).toBe(rotated.kid);
    expect(decodeProtectedHeader(String(after.tokens['access_token'])).kid).toBe(rotated.kid);

    const keySet = createLocalJWKSet(jwks);
    const options = { issuer: op.url, audience: CLIENTS.basic.id };
    await expect(jwtVerify(newIdToken, keySet, options)).resolves.toBeDefined();
    await expect(jwtVerify(oldIdToken, keySet, options)).resolves.toBeDefined();
  });
});
