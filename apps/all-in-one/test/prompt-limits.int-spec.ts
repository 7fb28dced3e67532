import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '@ciba/testing';
import { CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';
import { auditedUntil, requestIdOf } from './channels/channel-harness.js';

const PROMPT_LIMIT_DESCRIPTION = /not sent to the end-user because a prompt limit was reached/;

/**
 * Seed: "throttle surprise — rate-limit requests by client, user hint, action type, and recent denial
 * history". Every limit is the asking client's own: a client reaching one never blocks another
 * client's request for the same user.
 */
describe('prompt limits protect the user without handing one client a switch over her', () => {
  let op: TestProvider;

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '3', CIBA_DENIAL_BACKOFF_THRESHOLD: '2', CIBA_DENIAL_BACKOFF_SECONDS: '300' });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });
  // Each test starts after every window and back-off of the previous one has passed.
  beforeEach(() => op.clock.advance(2 * 3600));

  /** A request for `user` from `client` that reached the user's device; its decision token. */
  async function prompted(client: TestClient, user = 'alice', extra: Record<string, string> = {}) {
    const message = uniqueMessage(client.id);
    const { authReqId } = await op.authorize({ login_hint: user, binding_message: message, ...extra }, client);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    return { authReqId, decisionToken };
  }

  /** A request the notifier refused: it never reached the device, and the audit trail says which limit. */
  async function refused(client: TestClient, user = 'alice', extra: Record<string, string> = {}) {
    const message = uniqueMessage(client.id);
    const { authReqId } = await op.authorize({ login_hint: user, binding_message: message, ...extra }, client);
    const records = await auditedUntil(op, await requestIdOf(op, authReqId), 'auth_request.denied');
    expect(op.device.received.filter((n) => n.body['binding_message'] === message)).toEqual([]);
    expect(records.map((r) => r.type)).not.toContain('auth_request.device_notified');
    return { authReqId, denied: records.find((r) => r.type === 'auth_request.denied')!.payload };
  }

  /** Whether a request from `client` reached alice's device or was refused; waits for one or the other. */
  async function promptOrRefusal(client: TestClient): Promise<{ reached: boolean; denied?: Record<string, unknown> }> {
    const message = uniqueMessage(client.id);
    const { authReqId } = await op.authorize({ binding_message: message }, client);
    const requestId = await requestIdOf(op, authReqId);
    let outcome: { reached: boolean; denied?: Record<string, unknown> } | null = null;
    await waitFor(
      async () => {
        if (op.device.received.some((n) => n.body['binding_message'] === message)) outcome = { reached: true };
        const [denied] = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(
          "SELECT payload FROM audit_records WHERE request_id = $1 AND type = 'auth_request.denied'",
          [requestId],
        );
        if (denied) outcome = { reached: false, denied: denied.payload };
        return outcome !== null;
      },
      { description: 'the request reached the device or was refused' },
    );
    return outcome!;
  }

  it('one client silences a user: client A reaching its limit does not block client B’s request for the same user', async () => {
    // Client A asks for alice until a limit stops it (the old per-user limit was 10, shared by every client).
    let sent = 0;
    let refusal: Record<string, unknown> | undefined;
    while (refusal === undefined && sent < 12) {
      const outcome = await promptOrRefusal(CLIENTS.basic);
      sent++;
      refusal = outcome.denied;
    }
    expect(refusal).toMatchObject({ reason: 'RATE_LIMITED' });

    // Client B's request for alice still reaches her at once, as do A's requests for another user.
    expect(await promptOrRefusal(CLIENTS.post)).toEqual({ reached: true });
    await prompted(CLIENTS.basic, 'bob');
    // A was stopped by its own limit for alice (3 per window), which the audit trail names.
    expect({ sent, refusal }).toEqual({ sent: 4, refusal: expect.objectContaining({ reason: 'RATE_LIMITED', limit: 'client_user' }) });
  }, 60_000);

  it('the throttled request’s denial reason and limit reach the audit trail; the token endpoint’s error_description says it was not sent to the user (unlike a user denial)', async () => {
    for (let i = 0; i < 3; i++) await prompted(CLIENTS.basic);
    const { authReqId, denied } = await refused(CLIENTS.basic);
    expect(denied).toMatchObject({ reason: 'RATE_LIMITED', limit: 'client_user' });
    const res = await op.token(authReqId);
    expect({ status: res.status, error: res.body['error'] }).toEqual({ status: 400, error: 'access_denied' });
    expect(String(res.body['error_description'])).toMatch(PROMPT_LIMIT_DESCRIPTION);

    const byUser = await prompted(CLIENTS.post);
    expect((await op.decide(byUser.decisionToken, 'UNAUTHORIZED')).status).toBe(200);
    const userDenial = await op.token(byUser.authReqId, CLIENTS.post);
    expect(userDenial.body).toEqual({ error: 'access_denied', error_description: 'the end-user denied the authorization request' });
  }, 60_000);

  it('§10.2 ping and §10.3 push: a throttled request is access_denied too, and says why (token endpoint after the ping, the pushed error payload)', async () => {
    const cnt = () => `cnt-${randomBytes(12).toString('base64url')}`;
    for (const client of [CLIENTS.ping, CLIENTS.push]) {
      for (let i = 0; i < 3; i++) await prompted(client, 'alice', { client_notification_token: cnt() });
    }
    const ping = await refused(CLIENTS.ping, 'alice', { client_notification_token: cnt() });
    await op.receiver.waitFor(ping.authReqId);
    const afterPing = await op.token(ping.authReqId, CLIENTS.ping);
    expect(afterPing.body['error']).toBe('access_denied');
    expect(String(afterPing.body['error_description'])).toMatch(PROMPT_LIMIT_DESCRIPTION);

    const push = await refused(CLIENTS.push, 'alice', { client_notification_token: cnt() });
    expect(push.denied).toMatchObject({ reason: 'RATE_LIMITED', limit: 'client_user' });
    const [callback] = await op.receiver.waitFor(push.authReqId);
    expect(callback.body).toEqual({ error: 'access_denied', error_description: expect.stringMatching(PROMPT_LIMIT_DESCRIPTION), auth_req_id: push.authReqId });
  }, 60_000);

  it('denial back-off: after alice denied client A twice, A’s next request for her is refused (denial_backoff) while client B’s still reaches her; the back-off ends', async () => {
    for (const answer of ['UNAUTHORIZED', 'CANCELLED']) {
      const { decisionToken } = await prompted(CLIENTS.basic);
      expect((await op.decide(decisionToken, answer)).status).toBe(200);
    }
    const backedOff = await refused(CLIENTS.basic);
    expect(backedOff.denied).toMatchObject({ reason: 'RATE_LIMITED', limit: 'denial_backoff' });

    // Only A and only for alice: B may still ask her, and A may still ask bob.
    await prompted(CLIENTS.post);
    await prompted(CLIENTS.basic, 'bob');

    // The provider's own refusal did not extend the back-off: 5 minutes after her last denial A may ask again.
    op.clock.advance(301);
    await prompted(CLIENTS.basic);
  }, 60_000);
});
