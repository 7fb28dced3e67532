import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { decodeJwt } from 'jose';
import { parseBootstrap } from '@ciba/config';
import type { EvidenceRecord } from '@ciba/domain';
import { TypeOrmAuthRequestRepository, TypeOrmEvidenceRecordRepository } from '@ciba/persistence';
import { loadBootstrap } from '@ciba/platform';
import { requestIdIn, waitFor } from '@ciba/testing';
import { CLIENTS, type HttpResult, type TestProvider, bootstrapDeps, startTestProvider, uniqueMessage } from './provider-harness.js';

jest.setTimeout(60_000);

/** Resource servers reporting to the audit service: one authenticating with HTTP Basic, one in the body, one without the scope. */
const GATEWAY = { id: 'payments-gateway', secret: `gw-${randomBytes(12).toString('hex')}` };
const GATEWAY_POST = { id: 'ledger-api', secret: `ledger-${randomBytes(12).toString('hex')}` };
const NO_SCOPE = { id: 'plain-rs', secret: `plain-${randomBytes(12).toString('hex')}` };

const basic = (client: { id: string; secret: string }) => `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

/**
 * `POST /audit/downstream` on the all-in-one provider: a resource server reports what it allowed or
 * blocked with an access token, by its jti; the report is a lifecycle event in the hash-chained trail
 * and in the request's evidence record. The jti is found as soon as the token response is sent.
 */
describe('downstream outcome reports (POST /audit/downstream)', () => {
  let op: TestProvider;
  let records: TypeOrmEvidenceRecordRepository;
  const lines: string[] = [];
  /** The flow's tokens: the scan checks none of them reaches a row or a log line. */
  const tokens: string[] = [];
  let flow: { requestId: string; jti: string; refreshedJti: string; accessToken: string };

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_LOG_LEVEL: 'debug' }, { logDestination: { write: (line: string) => void lines.push(line) } });
    records = new TypeOrmEvidenceRecordRepository(op.db.dataSource);
    await loadBootstrap(
      parseBootstrap({
        clients: [
          { client_id: GATEWAY.id, client_secret: GATEWAY.secret, grant_types: [], scope: 'ciba:audit.report' },
          { client_id: GATEWAY_POST.id, client_secret: GATEWAY_POST.secret, token_endpoint_auth_method: 'client_secret_post', grant_types: [], scope: 'openid ciba:audit.report' },
          { client_id: NO_SCOPE.id, client_secret: NO_SCOPE.secret, grant_types: [], scope: 'openid' },
        ],
      }),
      bootstrapDeps(op),
    );

    // A poll flow with a refresh token, then one refresh: two access tokens of one request.
    const message = uniqueMessage('downstream');
    const { authReqId } = await op.authorize({ scope: 'openid offline_access', binding_message: message });
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const issued = await op.token(authReqId);
    expect(issued.status).toBe(200);
    const accessToken = String(issued.body['access_token']);
    const refreshToken = String(issued.body['refresh_token']);
    const refreshed = await op.form('/token', { grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(refreshed.status).toBe(200);
    tokens.push(accessToken, refreshToken, String(issued.body['id_token']), String(refreshed.body['access_token']), String(refreshed.body['refresh_token']), authReqId);
    flow = {
      requestId: requestIdIn(authReqId),
      jti: String(decodeJwt(accessToken).jti),
      refreshedJti: String(decodeJwt(String(refreshed.body['access_token'])).jti),
      accessToken,
    };
  });
  afterAll(async () => {
    await op.close();
  });

  async function report(body: unknown, headers: Record<string, string> = { authorization: basic(GATEWAY) }, raw?: string): Promise<HttpResult> {
    const res = await fetch(`${op.url}/audit/downstream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: raw ?? JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function recordWhen(done: (record: EvidenceRecord) => boolean): Promise<EvidenceRecord> {
    let found: EvidenceRecord | null = null;
    await waitFor(async () => {
      found = await records.find(flow.requestId);
      return found !== null && done(found);
    }, { description: 'the evidence record' });
    return found!;
  }

  it('the access token jti resolves to its request once the token response is sent (stored by the redemption itself), the refreshed one too', async () => {
    const requests = new TypeOrmAuthRequestRepository(op.db.dataSource);
    expect((await requests.findByAccessTokenJti(flow.jti))?.id).toBe(flow.requestId);
    expect((await requests.findByAccessTokenJti(flow.refreshedJti))?.id).toBe(flow.requestId);
    expect(flow.refreshedJti).not.toBe(flow.jti);
  });

  it('reports allowed and blocked for the access token, and for the refreshed one: all in the record and in the hash-chained trail', async () => {
    const at = new Date(Date.now() - 1_000).toISOString();
    const allowed = await report({ jti: flow.jti, outcome: 'allowed', action: 'POST /payments', resource: 'https://api.bank.example/payments/42', occurred_at: at });
    expect(allowed.status).toBe(202);
    expect(allowed.headers.get('cache-control')).toBe('no-store');
    expect(allowed.body).toEqual({ event_id: expect.stringMatching(new RegExp(`^${flow.requestId}:auth_request\\.downstream_reported:`)) });
    const blocked = await report({ jti: flow.jti, outcome: 'blocked', action: 'DELETE /accounts/7', reason: 'scope accounts:write missing' });
    expect(blocked.status).toBe(202);
    const viaBody = await report({ jti: flow.refreshedJti, outcome: 'allowed', action: 'GET /balance', client_id: GATEWAY_POST.id, client_secret: GATEWAY_POST.secret }, {});
    expect(viaBody.status).toBe(202);

    const record = await recordWhen((r) => (r.downstream?.length ?? 0) === 3);
    expect(record.accessTokenJtis).toEqual([flow.jti, flow.refreshedJti].sort());
    expect(record.downstream).toEqual(
      expect.arrayContaining([
        { jti: flow.jti, outcome: 'allowed', action: 'POST /payments', resource: 'https://api.bank.example/payments/42', reason: null, reporterClientId: GATEWAY.id, at },
        { jti: flow.jti, outcome: 'blocked', action: 'DELETE /accounts/7', resource: null, reason: 'scope accounts:write missing', reporterClientId: GATEWAY.id, at: expect.any(String) },
        { jti: flow.refreshedJti, outcome: 'allowed', action: 'GET /balance', resource: null, reason: null, reporterClientId: GATEWAY_POST.id, at: expect.any(String) },
      ]),
    );
    expect(record.eventIds).toEqual(expect.arrayContaining([allowed.body['event_id'], blocked.body['event_id'], viaBody.body['event_id']]));

    // The trail: one chained row per report, with the reporter and the jti, never a token.
    const trail = await op.db.dataSource.query<{ event_id: string; seq: string | null; client_id: string; payload: Record<string, unknown> }[]>(
      `SELECT event_id, seq, client_id, payload FROM audit_records WHERE request_id = $1 AND type = 'auth_request.downstream_reported' ORDER BY event_id`,
      [flow.requestId],
    );
    expect(trail.map((row) => row.event_id).sort()).toEqual([allowed.body['event_id'], blocked.body['event_id'], viaBody.body['event_id']].sort());
    for (const row of trail) {
      expect(row.seq).not.toBeNull();
      // The envelope names the request's client; the payload names who reported.
      expect(row.client_id).toBe(CLIENTS.basic.id);
      expect([GATEWAY.id, GATEWAY_POST.id]).toContain(row.payload['reporterClientId']);
    }
    const [redeemed] = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(`SELECT payload FROM audit_records WHERE event_id = $1`, [
      `${flow.requestId}:auth_request.redeemed`,
    ]);
    expect(redeemed.payload['accessTokenJti']).toBe(flow.jti);
    const [refreshedRow] = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(`SELECT payload FROM audit_records WHERE event_id = $1`, [
      `${flow.requestId}:auth_request.tokens_refreshed:${flow.refreshedJti}`,
    ]);
    expect(refreshedRow.payload['accessTokenJti']).toBe(flow.refreshedJti);
  });

  it('CIBA §10.3 push mode: the access token pushed to the client is recorded with the redemption, and a report on it joins that request', async () => {
    const message = uniqueMessage('downstream push');
    const notificationToken = `push-${randomBytes(8).toString('hex')}`;
    const { authReqId } = await op.authorize({ scope: 'openid', binding_message: message, client_notification_token: notificationToken }, CLIENTS.push);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const [pushed] = await op.receiver.waitFor(authReqId);
    const accessToken = String(pushed.body['access_token']);
    tokens.push(accessToken, String(pushed.body['id_token']), authReqId, notificationToken);
    const jti = String(decodeJwt(accessToken).jti);
    const requestId = requestIdIn(authReqId);
    expect((await new TypeOrmAuthRequestRepository(op.db.dataSource).findByAccessTokenJti(jti))?.id).toBe(requestId);
    expect((await report({ jti, outcome: 'blocked', action: 'GET /statements', reason: 'outside the approved action' })).status).toBe(202);
    await waitFor(async () => {
      const record = await records.find(requestId);
      return record !== null && record.accessTokenJtis.includes(jti) && (record.downstream ?? []).some((r) => r.jti === jti && r.outcome === 'blocked');
    }, { description: 'the push request record with its token jti and the report' });
  });

  it('the same report sent again (same occurred_at) is the same event, listed once', async () => {
    const body = { jti: flow.jti, outcome: 'allowed', action: 'GET /statements', occurred_at: new Date(Date.now() - 5_000).toISOString() };
    const first = await report(body);
    const again = await report(body);
    expect(first.status).toBe(202);
    expect(again.body['event_id']).toBe(first.body['event_id']);
    const record = await recordWhen((r) => r.downstream?.some((d) => d.action === 'GET /statements') ?? false);
    expect(record.downstream!.filter((d) => d.action === 'GET /statements')).toHaveLength(1);
    const [{ count }] = await op.db.dataSource.query<{ count: string }[]>(`SELECT count(*) FROM audit_records WHERE event_id = $1`, [first.body['event_id']]);
    expect(Number(count)).toBe(1);
  });

  it('RFC 6749 §2.3 no credentials, or a wrong secret: 401 invalid_client', async () => {
    const noCredentials = await report({ jti: flow.jti, outcome: 'allowed', action: 'GET /x' }, {});
    expect(noCredentials.status).toBe(401);
    expect(noCredentials.body['error']).toBe('invalid_client');
    const wrong = await report({ jti: flow.jti, outcome: 'allowed', action: 'GET /x' }, { authorization: basic({ id: GATEWAY.id, secret: 'not-the-secret' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.body['error']).toBe('invalid_client');
  });

  it('RFC 6750 §3.1 a client not registered for ciba:audit.report: 403 insufficient_scope naming the scope', async () => {
    const res = await report({ jti: flow.jti, outcome: 'blocked', action: 'GET /no-scope' }, { authorization: basic(NO_SCOPE) });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: expect.stringContaining('ciba:audit.report') });
    // A client of the flow (a relying party) holds no such scope either.
    const rp = await report({ jti: flow.jti, outcome: 'allowed', action: 'GET /no-scope' }, { authorization: basic(CLIENTS.basic) });
    expect(rp.status).toBe(403);
  });

  it('an unknown jti: 404 invalid_token', async () => {
    const res = await report({ jti: randomBytes(16).toString('base64url'), outcome: 'allowed', action: 'GET /x' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'no access token with this jti was issued by this provider' });
  });

  it('malformed JSON, a non-object, a form body: 400/415 invalid_request', async () => {
    const malformed = await report(undefined, { authorization: basic(GATEWAY) }, '{"jti": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body['error']).toBe('invalid_request');
    const array = await report([{ jti: flow.jti }]);
    expect(array.status).toBe(400);
    expect(array.body['error']).toBe('invalid_request');
    const form = await fetch(`${op.url}/audit/downstream`, {
      method: 'POST',
      headers: { authorization: basic(GATEWAY), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ jti: flow.jti, outcome: 'allowed', action: 'GET /x' }),
    });
    expect(form.status).toBe(415);
    expect(((await form.json()) as Record<string, unknown>)['error']).toBe('invalid_request');
  });

  it('missing, oversized, out-of-range and unknown fields: 400 invalid_request naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ outcome: 'allowed', action: 'GET /x' }, /jti is required/],
      [{ jti: flow.jti, action: 'GET /x' }, /outcome/],
      [{ jti: flow.jti, outcome: 'maybe', action: 'GET /x' }, /outcome must be one of: allowed, blocked/],
      [{ jti: flow.jti, outcome: 'allowed' }, /action is required/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'x'.repeat(201) }, /action is longer than 200/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', resource: 'r'.repeat(513) }, /resource is longer than 512/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', reason: 'r'.repeat(513) }, /reason is longer than 512/],
      [{ jti: 'j'.repeat(129), outcome: 'allowed', action: 'GET /x' }, /jti is longer than 128/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x\nforged: line' }, /action must not contain control characters/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', reason: 'nul \u0000 byte' }, /control character/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /\ud800' }, /unpaired surrogate/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', occurred_at: 'yesterday' }, /occurred_at must be an RFC 3339 date-time/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', occurred_at: new Date(Date.now() + 3_600_000).toISOString() }, /occurred_at is in the future/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', occurred_at: new Date(Date.now() - 86_400_000).toISOString() }, /occurred_at is before the token was issued/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', occurred_at: new Date(Date.now() - 40 * 86_400_000).toISOString() }, /occurred_at is more than 30 days ago/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', user: 'alice' }, /unknown field: user/],
      [{ jti: flow.jti, outcome: 'allowed', action: 42 }, /action/],
      [{ jti: flow.jti, outcome: 'allowed', action: 'GET /x', client_secret: 7 }, /client_secret must be a string/],
    ];
    for (const [body, description] of cases) {
      const res = await report(body);
      expect({ body, status: res.status, error: res.body['error'] }).toEqual({ body, status: 400, error: 'invalid_request' });
      expect(String(res.body['error_description'])).toMatch(description);
    }
    const huge = await report({ jti: flow.jti, outcome: 'allowed', action: 'GET /x', reason: 'r'.repeat(70_000) });
    expect(huge.status).toBe(413);
    expect(huge.body['error']).toBe('invalid_request');
  });

  it('the access token itself in place of its jti is refused (400), and echoed nowhere', async () => {
    const res = await report({ jti: flow.accessToken, outcome: 'allowed', action: 'GET /x' });
    expect(res.status).toBe(400);
    expect(res.body['error_description']).toMatch(/jti/);
    expect(JSON.stringify(res.body)).not.toContain(flow.accessToken);
  });

  it('other methods: 405', async () => {
    const res = await fetch(`${op.url}/audit/downstream`, { headers: { authorization: basic(GATEWAY) } });
    expect(res.status).toBe(405);
  });

  it('no token, refresh token, ID token or auth_req_id of the flow in any audit row, token jti row or log line', async () => {
    await recordWhen((r) => (r.downstream?.length ?? 0) >= 3);
    const rows = [
      ...(await op.db.dataSource.query<unknown[]>(`SELECT * FROM audit_records WHERE request_id = $1`, [flow.requestId])),
      ...(await op.db.dataSource.query<unknown[]>(`SELECT * FROM audit_evidence_records WHERE request_id = $1`, [flow.requestId])),
      ...(await op.db.dataSource.query<unknown[]>(`SELECT * FROM access_token_jtis WHERE request_id = $1`, [flow.requestId])),
    ];
    const stored = JSON.stringify(rows);
    expect(stored).toContain(flow.jti);
    for (const token of tokens) {
      expect(stored).not.toContain(token);
      for (const line of lines) expect(line).not.toContain(token);
    }
  });
});

