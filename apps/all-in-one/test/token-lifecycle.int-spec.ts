import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { base64url } from 'jose';
import { systemClock } from '@ciba/domain';
import { requestIdIn } from '@ciba/testing';
import { KeyStore, TokenMinter } from '@ciba/tokens';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const ACCESS_TOKEN_TTL = 600;

describe('token lifecycle: introspection (RFC 7662), revocation (RFC 7009), UserInfo (OIDC Core §5.3)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) });
  });
  afterAll(async () => {
    await op.close();
  });

  /** An approved poll flow for alice: the token response. */
  async function granted(scope = 'openid profile email offline_access', client: TestClient = CLIENTS.basic): Promise<{ authReqId: string; accessToken: string; refreshToken: string }> {
    const message = uniqueMessage('lifecycle');
    const { authReqId } = await op.authorize({ scope, binding_message: message }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId, client);
    expect(res.status).toBe(200);
    return { authReqId, accessToken: String(res.body['access_token']), refreshToken: String(res.body['refresh_token']) };
  }

  const refresh = (refreshToken: string, client: TestClient = CLIENTS.basic) => op.form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
  const introspect = (token: string, client: TestClient | null = CLIENTS.basic, hint?: string) =>
    op.form('/token/introspect', { token, ...(hint ? { token_type_hint: hint } : {}) }, client);
  const revoke = (token: string, client: TestClient | null = CLIENTS.basic, hint?: string) => op.form('/token/revoke', { token, ...(hint ? { token_type_hint: hint } : {}) }, client);
  const userinfo = (accessToken: string | null, init: { method?: string; query?: string; body?: string } = {}) =>
    fetch(`${op.url}/userinfo${init.query ?? ''}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(accessToken === null ? {} : { authorization: `Bearer ${accessToken}` }),
        ...(init.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: init.body,
    });
  const inactive = (res: HttpResult) => expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: { active: false } });
  const revokedRows = async (authReqId: string) =>
    Number((await op.db.dataSource.query<{ count: string }[]>('SELECT count(*) FROM refresh_tokens WHERE request_id = $1 AND revoked_at IS NOT NULL', [requestIdIn(authReqId)]))[0].count);

  describe('RFC 7009 revocation', () => {
    it('RFC 7009 §2.1 revoking a refresh token revokes its family: the current token and every one rotated from the same grant', async () => {
      const { authReqId, refreshToken: first } = await granted();
      const second = String((await refresh(first)).body['refresh_token']);
      const bystander = await granted();
      const res = await revoke(second, CLIENTS.basic, 'refresh_token');
      expect({ status: res.status, cacheControl: res.headers.get('cache-control') }).toEqual({ status: 200, cacheControl: 'no-store' });
      expect((await refresh(second)).body['error']).toBe('invalid_grant');
      inactive(await introspect(second));
      expect(await revokedRows(authReqId)).toBe(2);
      // Another grant of the same client and user lives on.
      expect((await refresh(bystander.refreshToken)).status).toBe(200);
    });

    it('RFC 7009 §2.1 revoking an already rotated refresh token of the client ends its grant too', async () => {
      const { refreshToken: first } = await granted();
      const second = String((await refresh(first)).body['refresh_token']);
      expect((await revoke(first)).status).toBe(200);
      expect((await refresh(second)).body['error']).toBe('invalid_grant');
    });

    it('RFC 7009 §2.1 the hint is only a hint: a refresh token sent as access_token is still revoked', async () => {
      const { refreshToken } = await granted();
      expect((await revoke(refreshToken, CLIENTS.basic, 'access_token')).status).toBe(200);
      expect((await refresh(refreshToken)).body['error']).toBe('invalid_grant');
    });

    it('RFC 7009 §2.2 revoking another client’s refresh token answers 200 and changes nothing', async () => {
      const { authReqId, refreshToken } = await granted();
      expect((await revoke(refreshToken, CLIENTS.ping)).status).toBe(200);
      expect(await revokedRows(authReqId)).toBe(0);
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('RFC 7009 §2.2 an unknown token answers 200; replaying a revocation answers 200; a revoked token stays dead', async () => {
      expect((await revoke('not-a-token-0123456789abcdefghijklmnopqrstuvwxyz')).status).toBe(200);
      const { refreshToken } = await granted();
      expect((await revoke(refreshToken)).status).toBe(200);
      expect((await revoke(refreshToken)).status).toBe(200);
      expect((await refresh(refreshToken)).body['error']).toBe('invalid_grant');
    });

    it('RFC 7009 §2.1 a client revokes its own access token: introspection calls it inactive and UserInfo refuses it; revoking again is 200', async () => {
      const { accessToken } = await granted();
      const bystander = await granted();
      expect((await userinfo(accessToken)).status).toBe(200);
      const own = await revoke(accessToken, CLIENTS.basic, 'access_token');
      expect({ status: own.status, body: own.body }).toEqual({ status: 200, body: {} });
      inactive(await introspect(accessToken));
      const refused = await userinfo(accessToken);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await revoke(accessToken)).status).toBe(200);
      // Another token of the same client and user lives on.
      expect((await introspect(bystander.accessToken)).body['active']).toBe(true);
      expect((await userinfo(bystander.accessToken)).status).toBe(200);
    });

    it('RFC 7009 §2.2 revoking another client’s access token answers 200 and changes nothing', async () => {
      const { accessToken } = await granted();
      expect((await revoke(accessToken, CLIENTS.ping)).status).toBe(200);
      expect((await introspect(accessToken)).body['active']).toBe(true);
      expect((await userinfo(accessToken)).status).toBe(200);
    });

    it('RFC 7009 §2.2.1 an access token issued before access tokens were recorded cannot be revoked: unsupported_token_type', async () => {
      const { accessToken } = await granted();
      const { jti } = JSON.parse(new TextDecoder().decode(base64url.decode(accessToken.split('.')[1]))) as { jti: string };
      await op.db.dataSource.query('DELETE FROM access_token_jtis WHERE jti = $1', [jti]);
      const own = await revoke(accessToken, CLIENTS.basic, 'access_token');
      expect({ status: own.status, error: own.body['error'] }).toEqual({ status: 400, error: 'unsupported_token_type' });
      expect((await introspect(accessToken)).body['active']).toBe(true);
    });

    it('RFC 7009 §2.1 revoking a refresh token revokes the grant’s access tokens too: the first one and one issued by a refresh', async () => {
      const { accessToken: first, refreshToken } = await granted();
      const refreshed = await refresh(refreshToken);
      const second = String(refreshed.body['access_token']);
      const bystander = await granted();
      expect((await revoke(String(refreshed.body['refresh_token']))).status).toBe(200);
      for (const token of [first, second]) {
        inactive(await introspect(token));
        expect((await userinfo(token)).status).toBe(401);
      }
      expect((await introspect(bystander.accessToken)).body['active']).toBe(true);
    });

    it('RFC 7009 §2.1 concurrent revocation and refresh: the family ends revoked whichever wins', async () => {
      for (let round = 0; round < 5; round++) {
        const { authReqId, refreshToken } = await granted();
        const [revoked, refreshed] = await Promise.all([revoke(refreshToken), refresh(refreshToken)]);
        expect(revoked.status).toBe(200);
        expect([200, 400]).toContain(refreshed.status);
        if (refreshed.status === 200) {
          const successor = String(refreshed.body['refresh_token']);
          inactive(await introspect(successor));
          // The access token the winning refresh issued is revoked with its grant.
          inactive(await introspect(String(refreshed.body['access_token'])));
          expect((await refresh(successor)).body['error']).toBe('invalid_grant');
        }
        const live = await op.db.dataSource.query<{ count: string }[]>(
          'SELECT count(*) FROM refresh_tokens WHERE request_id = $1 AND revoked_at IS NULL AND used_at IS NULL',
          [requestIdIn(authReqId)],
        );
        expect(Number(live[0].count)).toBe(0);
      }
    });

    it('RFC 7009 §2.1 the client authenticates, and the request is well formed', async () => {
      const { refreshToken } = await granted();
      expect((await revoke(refreshToken, null)).status).toBe(401);
      expect((await revoke(refreshToken, { ...CLIENTS.basic, secret: 'wrong-secret-value' })).status).toBe(401);
      const missing = await op.form('/token/revoke', {}, CLIENTS.basic);
      expect({ status: missing.status, error: missing.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      const repeated = await op.form('/token/revoke', { token: [refreshToken, refreshToken] }, CLIENTS.basic);
      expect({ status: repeated.status, error: repeated.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
      const get = await fetch(`${op.url}/token/revoke`);
      expect(get.status).toBe(405);
      // Nothing of the above revoked it.
      expect((await refresh(refreshToken)).status).toBe(200);
    });
  });

  describe('RFC 7662 introspection', () => {
    it('RFC 7662 §2.2 an access token of the client is active, with its description', async () => {
      const { accessToken } = await granted();
      const res = await introspect(accessToken);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const { iat, exp, ...rest } = res.body as { iat: number; exp: number };
      expect(rest).toEqual({ active: true, scope: 'openid profile email offline_access', client_id: CLIENTS.basic.id, sub: 'alice', iss: op.url, aud: op.url, token_type: 'Bearer' });
      expect(exp - iat).toBe(ACCESS_TOKEN_TTL);
    });

    it('RFC 7662 §2.2 a refresh token of the client is active; the hint orders the search only', async () => {
      const { refreshToken } = await granted();
      for (const hint of [undefined, 'refresh_token', 'access_token', 'something_else']) {
        const res = await introspect(refreshToken, CLIENTS.basic, hint);
        expect(res.body).toMatchObject({ active: true, scope: 'openid profile email offline_access', client_id: CLIENTS.basic.id, sub: 'alice', iss: op.url });
        expect(typeof res.body['exp']).toBe('number');
      }
      const { accessToken } = await granted();
      expect((await introspect(accessToken, CLIENTS.basic, 'refresh_token')).body['active']).toBe(true);
    });

    it('RFC 7662 §2.2 another client’s token is inactive, exactly as an unknown one', async () => {
      const { accessToken, refreshToken } = await granted();
      inactive(await introspect(accessToken, CLIENTS.ping));
      inactive(await introspect(refreshToken, CLIENTS.ping));
      inactive(await introspect('not-a-token-0123456789abcdefghijklmnopqrstuvwxyz'));
    });

    it('RFC 7662 §2.2 a rotated refresh token and a revoked family are inactive', async () => {
      const { refreshToken: first } = await granted();
      const second = String((await refresh(first)).body['refresh_token']);
      inactive(await introspect(first));
      expect((await introspect(second)).body['active']).toBe(true);
      expect((await revoke(second)).status).toBe(200);
      inactive(await introspect(second));
    });

    it('RFC 7662 §2.2 an access token is inactive once it expires', async () => {
      const { accessToken } = await granted();
      expect((await introspect(accessToken)).body['active']).toBe(true);
      op.clock.advance(ACCESS_TOKEN_TTL + 1);
      inactive(await introspect(accessToken));
    });

    it('RFC 7662 §2.2 an expired refresh token is inactive, and revoking it changes nothing', async () => {
      const { authReqId, refreshToken } = await granted();
      op.clock.advance(op.config.tokens.refreshTokenTtl + 1);
      inactive(await introspect(refreshToken));
      expect((await revoke(refreshToken)).status).toBe(200);
      expect(await revokedRows(authReqId)).toBe(0);
    });

    it('RFC 7662 §2.2 forged, alg none, ID tokens and another issuer’s tokens are inactive', async () => {
      const { accessToken } = await granted();
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
      const otherSub = base64url.encode(JSON.stringify({ ...claims, sub: 'bob' }));
      inactive(await introspect(`${header}.${otherSub}.${signature}`));
      const none = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
      inactive(await introspect(`${none}.${payload}.`));
      const keyStore = op.app.get(KeyStore);
      const foreign = new TokenMinter({ keyStore, issuer: 'https://other.example.com', clock: systemClock, accessTokenTtl: 600, idTokenTtl: 600, refreshTokenTtl: 600 });
      const minted = await foreign.mint({ clientId: CLIENTS.basic.id, subject: 'alice', scope: ['openid'], authTime: new Date(), requestId: 'r', includeRefreshToken: false });
      inactive(await introspect(minted.accessToken));
      inactive(await introspect(minted.idToken));
    });

    it('RFC 7662 §2.1 the client authenticates and sends one token as a form; no 5xx for hostile bodies', async () => {
      const { accessToken } = await granted();
      expect((await introspect(accessToken, null)).status).toBe(401);
      expect((await introspect(accessToken, { ...CLIENTS.basic, secret: 'wrong-secret-value' })).status).toBe(401);
      expect((await op.form('/token/introspect', {}, CLIENTS.basic)).body['error']).toBe('invalid_request');
      expect((await op.form('/token/introspect', { token: [accessToken, accessToken] }, CLIENTS.basic)).body['error']).toBe('invalid_request');
      const basic = `Basic ${Buffer.from(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`).toString('base64')}`;
      const hostile: Array<[string, string, number]> = [
        ['application/json', JSON.stringify({ token: accessToken }), 400],
        ['text/plain', `token=${accessToken}`, 400],
        ['application/x-www-form-urlencoded', `token=${'a'.repeat(70_000)}`, 413],
        ['application/x-www-form-urlencoded', 'token=a%00b', 400],
        ['application/x-www-form-urlencoded', `token=${'a'.repeat(20_000)}`, 400],
        // Long enough for an access token with 8 KB of authorization_details.
        ['application/x-www-form-urlencoded', `token=${'a'.repeat(16_384)}`, 200],
        // Undecodable escapes stay literal text: a token nobody issued.
        ['application/x-www-form-urlencoded', 'token=%ZZ', 200],
      ];
      for (const [contentType, body, status] of hostile) {
        const res = await fetch(`${op.url}/token/introspect`, { method: 'POST', headers: { authorization: basic, 'content-type': contentType }, body });
        expect({ contentType, status: res.status }).toEqual({ contentType, status });
        if (status === 200) expect(await res.json()).toEqual({ active: false });
      }
      expect((await fetch(`${op.url}/token/introspect`)).status).toBe(405);
    });
  });

  describe('OIDC Core §5.3 UserInfo', () => {
    it('OIDC Core §5.3.2 / §5.4 the claims of the token’s scopes, sub always, by GET and POST', async () => {
      const { accessToken } = await granted('openid email');
      for (const method of ['GET', 'POST']) {
        const res = await userinfo(accessToken, { method });
        expect({ status: res.status, cacheControl: res.headers.get('cache-control'), body: await res.json() }).toEqual({
          status: 200,
          cacheControl: 'no-store',
          body: { sub: 'alice', email: 'alice@example.com', email_verified: true },
        });
      }
      const all = await granted('openid profile phone');
      expect(await (await userinfo(all.accessToken)).json()).toEqual({ sub: 'alice', name: 'Alice Example', phone_number: '+1 555 555 0100', phone_number_verified: true });
      const only = await granted('openid');
      expect(await (await userinfo(only.accessToken)).json()).toEqual({ sub: 'alice' });
    });

    it('RFC 6750 §3.1 no token: 401 with a Bearer challenge and no error code; a bad token: invalid_token', async () => {
      const none = await userinfo(null);
      expect({ status: none.status, challenge: none.headers.get('www-authenticate') }).toEqual({ status: 401, challenge: 'Bearer realm="ciba", DPoP algs="ES256 PS256 EdDSA RS256"' });
      const bad = await userinfo('not-a-token');
      expect(bad.status).toBe(401);
      expect(bad.headers.get('www-authenticate')).toMatch(/^Bearer realm="ciba", error="invalid_token"/);
      expect(((await bad.json()) as Record<string, unknown>)['error']).toBe('invalid_token');
    });

    it('RFC 6750 §2.3 a token in the query string is refused, even beside a valid header; so is one in the body', async () => {
      const { accessToken } = await granted('openid');
      const inQuery = await userinfo(accessToken, { query: `?access_token=${accessToken}` });
      expect(inQuery.status).toBe(400);
      expect(inQuery.headers.get('www-authenticate')).toMatch(/error="invalid_request"/);
      const inBody = await userinfo(null, { method: 'POST', body: `access_token=${accessToken}` });
      expect(inBody.status).toBe(400);
    });

    it('RFC 6750 §3.1 an access token without openid is insufficient_scope; expired, ID token or another issuer is invalid_token', async () => {
      const minter = op.app.get(TokenMinter);
      const withoutOpenid = await minter.mint({ clientId: CLIENTS.basic.id, subject: 'alice', scope: ['profile'], authTime: op.clock.now(), requestId: 'r', includeRefreshToken: false });
      const res = await userinfo(withoutOpenid.accessToken);
      expect({ status: res.status, challenge: res.headers.get('www-authenticate') }).toEqual({
        status: 403,
        challenge: 'Bearer realm="ciba", error="insufficient_scope", error_description="the access token lacks the openid scope", scope="openid", DPoP algs="ES256 PS256 EdDSA RS256"',
      });
      expect((await userinfo(withoutOpenid.idToken)).status).toBe(401);
      const foreign = new TokenMinter({ keyStore: op.app.get(KeyStore), issuer: 'https://other.example.com', clock: op.clock, accessTokenTtl: 600, idTokenTtl: 600, refreshTokenTtl: 600 });
      const theirs = await foreign.mint({ clientId: CLIENTS.basic.id, subject: 'alice', scope: ['openid'], authTime: op.clock.now(), requestId: 'r', includeRefreshToken: false });
      expect((await userinfo(theirs.accessToken)).status).toBe(401);
      const { accessToken } = await granted('openid');
      op.clock.advance(ACCESS_TOKEN_TTL + 1);
      expect((await userinfo(accessToken)).status).toBe(401);
    });
  });
});

describe('token lifecycle: failed client authentication at introspection and revocation is throttled as at /token', () => {
  const WINDOW_SECONDS = 300;
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_CLIENT_AUTH_FAILURE_LIMIT: '3', CIBA_CLIENT_AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS) });
    // Start 1 s into a fresh window (the windows are fixed, the clock runs on in real time).
    const windowMs = WINDOW_SECONDS * 1000;
    const now = op.clock.now().getTime();
    op.clock.advance((Math.ceil(now / windowMs) * windowMs + windowMs + 1000 - now) / 1000);
  });
  afterAll(async () => {
    await op.close();
  });

  it('RFC 7662 §2.1 / RFC 7009 §2.1 wrong secrets at either endpoint count together; past the limit the answer is 429 at both', async () => {
    const guessing = (i: number): TestClient => ({ ...CLIENTS.ping, secret: `wrong-guess-${i}` });
    const outcome = (res: HttpResult) => ({ status: res.status, error: res.body['error'] });
    expect(outcome(await op.form('/token/introspect', { token: 't' }, guessing(0)))).toEqual({ status: 401, error: 'invalid_client' });
    expect(outcome(await op.form('/token/revoke', { token: 't' }, guessing(1)))).toEqual({ status: 401, error: 'invalid_client' });
    expect(outcome(await op.form('/token/introspect', { token: 't' }, guessing(2)))).toEqual({ status: 401, error: 'invalid_client' });
    const throttled = await op.form('/token/revoke', { token: 't' }, guessing(3));
    expect(outcome(throttled)).toEqual({ status: 429, error: 'invalid_client' });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(outcome(await op.form('/token/introspect', { token: 't' }, guessing(4)))).toEqual({ status: 429, error: 'invalid_client' });
  });
});
