import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sha256Base64url } from '@ciba/tokens';
import { CLIENTS, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

const REFRESH_TOKEN_TTL = 3600;

/** RFC 7662 §2.2: `iat` of a refresh token, the time it was issued as stored with it. */
describe('introspection of refresh tokens: iat (RFC 7662 §2.2)', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_REFRESH_TOKEN_TTL: String(REFRESH_TOKEN_TTL) });
  });
  afterAll(async () => {
    await op.close();
  });

  async function refreshToken(): Promise<string> {
    const message = uniqueMessage('iat');
    const { authReqId } = await op.authorize({ scope: 'openid offline_access', binding_message: message });
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId);
    expect(res.status).toBe(200);
    return String(res.body['refresh_token']);
  }
  /** The issue time the store keeps for `token` (never the token itself: its hash), in seconds. */
  async function storedIssueTime(token: string): Promise<number> {
    const [row] = await op.db.dataSource.query<{ created_at: Date }[]>('SELECT created_at FROM refresh_tokens WHERE token_hash = $1', [sha256Base64url(token)]);
    return Math.floor(row.created_at.getTime() / 1000);
  }
  const introspect = (token: string) => op.form('/token/introspect', { token, token_type_hint: 'refresh_token' }, CLIENTS.basic);

  it('RFC 7662 §2.2 an active refresh token is described with its iat, the time it was issued, before its exp', async () => {
    const token = await refreshToken();
    const { body } = await introspect(token);
    expect(body).toMatchObject({ active: true, iat: await storedIssueTime(token) });
    expect(Number(body['exp'])).toBeGreaterThan(Number(body['iat']));
  });

  it('RFC 7662 §2.2 a rotated refresh token’s successor has its own iat', async () => {
    const first = await refreshToken();
    const refreshed = await op.form('/token', { grant_type: 'refresh_token', refresh_token: first }, CLIENTS.basic);
    expect(refreshed.status).toBe(200);
    const successor = String(refreshed.body['refresh_token']);
    const { body } = await introspect(successor);
    expect(body).toMatchObject({ active: true, iat: await storedIssueTime(successor) });
    expect(await introspect(first)).toMatchObject({ body: { active: false } });
  });
});
