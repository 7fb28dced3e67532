import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { requestIdIn } from '@ciba/testing';
import { CLIENTS, type HttpResult, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';

/** Refresh tokens live a minute here, so a test can let one expire. */
const REFRESH_TOKEN_TTL = 60;

function expectInvalidGrant(res: HttpResult): void {
  expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'invalid_grant' });
}

describe('refresh token reuse (RFC 9700 §4.14.2)', () => {
  let op: TestProvider;
  let warnings: jest.Spied<Logger['warn']>;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_REFRESH_TOKEN_TTL: String(REFRESH_TOKEN_TTL) });
  });
  afterAll(async () => {
    await op.close();
  });
  beforeEach(() => {
    warnings = jest.spyOn(Logger.prototype, 'warn');
  });
  afterEach(() => {
    warnings.mockRestore();
  });

  /** An approved poll flow for alice with offline_access: the grant's first refresh token. */
  async function granted(client: TestClient = CLIENTS.basic): Promise<{ authReqId: string; refreshToken: string }> {
    const message = uniqueMessage('refresh');
    const { authReqId } = await op.authorize({ scope: 'openid offline_access', binding_message: message }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId, client);
    expect(res.status).toBe(200);
    return { authReqId, refreshToken: String(res.body['refresh_token']) };
  }

  function refresh(refreshToken: string, client: TestClient = CLIENTS.basic): Promise<HttpResult> {
    return op.form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
  }

  async function rotated(refreshToken: string): Promise<string> {
    const res = await refresh(refreshToken);
    expect(res.status).toBe(200);
    return String(res.body['refresh_token']);
  }

  const reuseWarnings = () => warnings.mock.calls.filter((call) => call.some((arg) => typeof arg === 'string' && arg.includes('refresh token reuse')));

  it('RFC 9700 §4.14.2: a replayed rotated refresh token revokes its family, the current legitimately rotated successor included', async () => {
    const { authReqId, refreshToken: first } = await granted();
    const second = await rotated(first);
    const current = await rotated(second);
    const bystander = await granted();

    expectInvalidGrant(await refresh(first));

    expectInvalidGrant(await refresh(current));
    expectInvalidGrant(await refresh(second));
    // Another grant of the same client and user is not touched.
    expect((await refresh(bystander.refreshToken)).status).toBe(200);

    // One warning per replay of a rotated token (first, then second), naming the grant and client.
    const logged = reuseWarnings();
    const grant = { requestId: requestIdIn(authReqId), clientId: CLIENTS.basic.id };
    expect(logged.map(([fields]) => fields)).toEqual([
      { ...grant, revoked: 1 },
      { ...grant, revoked: 0 },
    ]);
    const text = JSON.stringify(logged);
    for (const token of [first, second, current]) expect(text).not.toContain(token);
    expect(text).not.toContain(authReqId);
  });

  it('RFC 9700 §4.14.2: two simultaneous uses of one refresh token — one wins the rotation, the other is a replay, and the winner’s new token is revoked too', async () => {
    const { refreshToken } = await granted();
    const answers = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    const winners = answers.filter((res) => res.status === 200);
    expect(winners).toHaveLength(1);
    expectInvalidGrant(answers.find((res) => res.status !== 200)!);
    expectInvalidGrant(await refresh(String(winners[0].body['refresh_token'])));
    expect(reuseWarnings()).toHaveLength(1);
  });

  it('a refresh token presented by another client revokes nothing', async () => {
    const { refreshToken } = await granted();
    const next = await rotated(refreshToken);
    // Not the token's client: nothing is known about it to that client, so nothing is revoked.
    expectInvalidGrant(await refresh(refreshToken, CLIENTS.noCiba));
    expect((await refresh(next)).status).toBe(200);
    expect(reuseWarnings()).toEqual([]);
  });

  it('an unknown or expired refresh token revokes nothing', async () => {
    const expiring = await granted();
    op.clock.advance(REFRESH_TOKEN_TTL + 1);
    const live = await granted();

    expectInvalidGrant(await refresh('not-a-refresh-token-0123456789abcdefghijkl'));
    expectInvalidGrant(await refresh(expiring.refreshToken));
    expectInvalidGrant(await refresh(expiring.refreshToken));

    expect((await refresh(live.refreshToken)).status).toBe(200);
    const revoked = await op.db.dataSource.query<{ count: string }[]>('SELECT count(*) FROM refresh_tokens WHERE request_id = ANY($1) AND revoked_at IS NOT NULL', [
      [requestIdIn(expiring.authReqId), requestIdIn(live.authReqId)],
    ]);
    expect(Number(revoked[0].count)).toBe(0);
    expect(reuseWarnings()).toEqual([]);
  });
});
