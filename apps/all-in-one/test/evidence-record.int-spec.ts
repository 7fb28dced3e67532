import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parseBootstrap } from '@ciba/config';
import type { EvidenceRecord } from '@ciba/domain';
import { TypeOrmEvidenceRecordRepository, TypeOrmUserCodeStore } from '@ciba/persistence';
import { loadBootstrap } from '@ciba/platform';
import { requestIdIn, waitFor } from '@ciba/testing';
import { bindingMessageDigest } from '@ciba/service-audit';
import { UserHintDigest } from '@ciba/tokens';
import { CLIENTS, type TestClient, type TestProvider, bootstrapDeps, startTestProvider, uniqueMessage } from './provider-harness.js';

jest.setTimeout(60_000);

const EMAIL = 'alice@example.com';
const PHONE_HINT = 'tel:+1-555-555-0100';
const AUDIT_KEY = randomBytes(32).toString('base64url');
/** A client registered with backchannel_user_code_parameter (CIBA §4), and a user with a user code. */
const CODE_CLIENT = { id: 'evidence-code-console', secret: `code-${randomBytes(12).toString('hex')}`, method: 'basic' } as unknown as TestClient;
const CODE_USER = { sub: 'evidence-code-user', email: 'code.user@example.org', userCode: `uc-${randomBytes(6).toString('hex')}` };

/**
 * The audit evidence record (one per authentication request) after real flows in each delivery mode
 * through the all-in-one provider on PostgreSQL, and the secret scan: no literal secret, token, code,
 * hint, email address or phone number used in those flows is in any audit row or log line.
 */
describe('audit evidence record: flows in every delivery mode', () => {
  let op: TestProvider;
  let records: TypeOrmEvidenceRecordRepository;
  const lines: string[] = [];
  /** Every literal value the scan must never find. */
  const secrets = new Map<string, string>();
  /** Binding messages are kept on purpose: the scan's control values. */
  const messages: string[] = [];
  const keep = (label: string, value: unknown) => {
    if (typeof value === 'string' && value.length > 0) secrets.set(`${label}:${secrets.size}`, value);
  };

  beforeAll(async () => {
    op = await startTestProvider({ CIBA_LOG_LEVEL: 'debug', CIBA_AUDIT_HMAC_KEY: AUDIT_KEY }, { logDestination: { write: (line: string) => void lines.push(line) } });
    records = new TypeOrmEvidenceRecordRepository(op.db.dataSource);
    await loadBootstrap(
      parseBootstrap({
        clients: [{ client_id: CODE_CLIENT.id, client_secret: CODE_CLIENT.secret, grant_types: ['urn:openid:params:grant-type:ciba'], scope: 'openid', backchannel_user_code_parameter: true }],
        users: [{ sub: CODE_USER.sub, email: CODE_USER.email, email_verified: true, user_code: CODE_USER.userCode }],
      }),
      bootstrapDeps(op, { userCodes: new TypeOrmUserCodeStore(op.db.dataSource) }),
    );
    keep('client_secret', CODE_CLIENT.secret);
    keep('email', CODE_USER.email);
    keep('user_code', CODE_USER.userCode);
    for (const client of Object.values(CLIENTS)) keep('client_secret', client.secret);
    keep('email', EMAIL);
    keep('phone', PHONE_HINT);
    keep('phone', '+1 555 555 0100');
    keep('phone', '15555550100');
    keep('encryption_key', op.config.keys.encryptionKey);
    keep('audit_key', AUDIT_KEY);
  });
  afterAll(async () => {
    await op.close();
  });

  /** The record once `done` holds for it (the audit consumer merges asynchronously). */
  async function recordOf(authReqId: string, done: (record: EvidenceRecord) => boolean): Promise<EvidenceRecord> {
    let found: EvidenceRecord | null = null;
    await waitFor(async () => {
      found = await records.find(requestIdIn(authReqId));
      return found !== null && done(found);
    }, { description: 'the evidence record' });
    return found!;
  }

  /** A request for alice by `hint`, approved (or denied) on the device. */
  async function flow(client: TestClient, hint: Record<string, string>, status: 'SUCCEED' | 'UNAUTHORIZED', extra: Record<string, string> = {}) {
    const message = uniqueMessage(client.id);
    messages.push(message);
    const cnt = client === CLIENTS.ping || client === CLIENTS.push ? `cnt-${randomBytes(16).toString('base64url')}` : null;
    for (const value of Object.values(hint)) keep('hint', value);
    keep('client_notification_token', cnt);
    const { authReqId } = await op.authorize({ ...hint, binding_message: message, ...(cnt ? { client_notification_token: cnt } : {}), ...extra }, client);
    keep('auth_req_id', authReqId);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    keep('decision_token', decisionToken);
    expect((await op.decide(decisionToken, status)).status).toBe(200);
    return { authReqId, message };
  }

  const keepTokens = (body: Record<string, unknown>) => {
    for (const name of ['access_token', 'refresh_token', 'id_token']) keep(name, body[name]);
  };

  /** The fields every request's record holds, whatever its mode. */
  function expectRequestFacts(record: EvidenceRecord, client: TestClient, mode: 'poll' | 'ping' | 'push', message: string) {
    expect(record.issuer).toBe(op.url);
    expect(record.backchannelEndpoint).toBe(`${op.url}/bc-authorize`);
    expect(record.clientId).toBe(client.id);
    expect(record.deliveryMode).toBe(mode);
    expect(record.subject).toBe('alice');
    expect(record.bindingMessage).toBe(message);
    expect(record.correlationId).toEqual(expect.any(String));
    expect(record.requestedAt).toEqual(expect.any(String));
    expect(Date.parse(record.expiresAt!) - Date.parse(record.requestedAt!)).toBe(record.expiresIn! * 1000);
    expect(record.channels).toEqual([{ channel: 'http', outcome: 'sent', at: expect.any(String) }]);
  }

  it('CIBA §7, §11 poll: issuer, endpoint, mode, scope, acr_values, hint type and keyed hash, binding message, expiry, interval, channel, decision, tokens', async () => {
    const { authReqId, message } = await flow(CLIENTS.basic, { login_hint: EMAIL }, 'SUCCEED', { scope: 'openid profile', acr_values: 'urn:example:acr:basic', requested_expiry: '90' });
    const tokens = await op.token(authReqId);
    expect(tokens.status).toBe(200);
    keepTokens(tokens.body);
    const record = await recordOf(authReqId, (r) => r.tokenOutcome === 'issued');
    expectRequestFacts(record, CLIENTS.basic, 'poll', message);
    expect(record).toMatchObject({
      scope: ['openid', 'profile'],
      acrValues: ['urn:example:acr:basic'],
      hintType: 'login_hint',
      userHintHash: new UserHintDigest(AUDIT_KEY).digest('login_hint', EMAIL),
      expiresIn: 90,
      interval: 2,
      authorizationDetailsTypes: [],
      callbacks: [],
      decision: { outcome: 'approved', at: expect.any(String), reason: null, limit: null },
      redemption: { tokens: ['access_token', 'id_token'], at: expect.any(String) },
      tokenOutcome: 'issued',
      downstream: null,
    });
    // The trail (hash-chained) commits to the binding message by its SHA-256; the record holds the text.
    const [created] = await op.db.dataSource.query<{ payload: Record<string, unknown> }[]>(`SELECT payload FROM audit_records WHERE event_id = $1`, [
      `${record.requestId}:auth_request.created`,
    ]);
    expect(created.payload['bindingMessageSha256']).toBe(bindingMessageDigest(message));
    expect(JSON.stringify(created.payload)).not.toContain(message);
    expect(record.eventIds).toEqual(
      expect.arrayContaining([`${record.requestId}:auth_request.created`, `${record.requestId}:auth_request.device_notified`, `${record.requestId}:auth_request.approved`, `${record.requestId}:auth_request.redeemed`]),
    );
  });

  it('CIBA §7.1 user_code: the flow is recorded, the code never (poll)', async () => {
    const message = uniqueMessage('code');
    messages.push(message);
    const res = await op.form('/bc-authorize', { scope: 'openid', login_hint: CODE_USER.email, user_code: CODE_USER.userCode, binding_message: message }, CODE_CLIENT);
    expect(res.status).toBe(200);
    const authReqId = String(res.body['auth_req_id']);
    keep('auth_req_id', authReqId);
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    keep('decision_token', decisionToken);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const tokens = await op.token(authReqId, CODE_CLIENT);
    expect(tokens.status).toBe(200);
    keepTokens(tokens.body);
    const record = await recordOf(authReqId, (r) => r.tokenOutcome === 'issued');
    expect(record).toMatchObject({ clientId: CODE_CLIENT.id, subject: CODE_USER.sub, bindingMessage: message, decision: { outcome: 'approved' }, tokenOutcome: 'issued' });
    expect(record.userHintHash).toBe(new UserHintDigest(AUDIT_KEY).digest('login_hint', CODE_USER.email));
  });

  it('CIBA §11 poll denied: the decision with its reason, and access_denied as the token outcome', async () => {
    const { authReqId } = await flow(CLIENTS.basic, { login_hint: PHONE_HINT }, 'UNAUTHORIZED');
    expect((await op.token(authReqId)).body['error']).toBe('access_denied');
    const record = await recordOf(authReqId, (r) => r.decision !== null);
    expect(record).toMatchObject({ decision: { outcome: 'denied', reason: 'UNAUTHORIZED' }, redemption: null, tokenOutcome: 'access_denied' });
    expect(record.userHintHash).toBe(new UserHintDigest(AUDIT_KEY).digest('login_hint', PHONE_HINT));
  });

  it('CIBA §10.2 ping: the callback delivered (attempts, status), then the tokens the client redeemed', async () => {
    const { authReqId, message } = await flow(CLIENTS.ping, { login_hint: EMAIL }, 'SUCCEED', { scope: 'openid offline_access' });
    await op.receiver.waitFor(authReqId);
    const tokens = await op.token(authReqId, CLIENTS.ping);
    expect(tokens.status).toBe(200);
    keepTokens(tokens.body);
    const record = await recordOf(authReqId, (r) => r.tokenOutcome === 'issued' && r.callbacks.length === 1 && r.callbackAttempts.length === 1);
    expectRequestFacts(record, CLIENTS.ping, 'ping', message);
    expect(record.callbackAttempts).toEqual([{ mode: 'ping', trigger: 'approved', attempt: 1, outcome: 'delivered', status: 204, reason: null, at: expect.any(String) }]);
    expect(record).toMatchObject({
      scope: ['openid', 'offline_access'],
      interval: 2,
      callbacks: [{ mode: 'ping', trigger: 'approved', outcome: 'delivered', attempts: 1, status: 204, reason: null, at: expect.any(String) }],
      decision: { outcome: 'approved' },
      redemption: { tokens: ['access_token', 'id_token', 'refresh_token'] },
    });
  });

  it('CIBA §10.3 push: no interval, authorization details types only, the tokens pushed, the callback delivered', async () => {
    const details = JSON.stringify([{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '77.01' }, creditorName: 'Merchant Q' }]);
    const { authReqId, message } = await flow(CLIENTS.push, { login_hint: EMAIL }, 'SUCCEED', { scope: 'openid email offline_access', authorization_details: details });
    const [callback] = await op.receiver.waitFor(authReqId);
    keepTokens(callback.body);
    keep('authorization_details_value', 'Merchant Q');
    keep('authorization_details_value', '77.01');
    const record = await recordOf(authReqId, (r) => r.tokenOutcome === 'issued' && r.callbacks.length === 1);
    expectRequestFacts(record, CLIENTS.push, 'push', message);
    expect(record).toMatchObject({
      interval: null,
      authorizationDetailsTypes: ['payment_initiation'],
      callbacks: [{ mode: 'push', trigger: 'approved', outcome: 'delivered', attempts: 1, status: 204, reason: null }],
      decision: { outcome: 'approved' },
      redemption: { tokens: ['access_token', 'id_token', 'refresh_token'] },
      tokenOutcome: 'issued',
    });
  });

  it('CIBA §10.3 push retried: every callback attempt with its time, outcome and status code', async () => {
    op.receiver.respond({ status: 503, headers: { 'retry-after': '1' } });
    const { authReqId } = await flow(CLIENTS.push, { login_hint: EMAIL }, 'SUCCEED');
    const calls = await op.receiver.waitFor(authReqId, 2);
    keepTokens(calls[1].body);
    const record = await recordOf(authReqId, (r) => r.callbacks.length === 1 && r.callbackAttempts.length === 2);
    expect(record.callbackAttempts).toEqual([
      { mode: 'push', trigger: 'approved', attempt: 1, outcome: 'retry', status: 503, reason: expect.stringMatching(/503/), at: expect.any(String) },
      { mode: 'push', trigger: 'approved', attempt: 2, outcome: 'delivered', status: 204, reason: null, at: expect.any(String) },
    ]);
    expect(Date.parse(record.callbackAttempts[1].at)).toBeGreaterThanOrEqual(Date.parse(record.callbackAttempts[0].at));
    expect(record.callbacks).toEqual([expect.objectContaining({ mode: 'push', outcome: 'delivered', attempts: 2, status: 204 })]);
  });

  it('CIBA §12 push expired: the expiry, the expired_token callback and the token outcome', async () => {
    const cnt = `cnt-${randomBytes(16).toString('base64url')}`;
    keep('client_notification_token', cnt);
    const { authReqId } = await op.authorize({ login_hint: EMAIL, client_notification_token: cnt, requested_expiry: '5' }, CLIENTS.push);
    keep('auth_req_id', authReqId);
    op.clock.advance(6);
    await op.receiver.waitFor(authReqId);
    const record = await recordOf(authReqId, (r) => r.decision !== null && r.callbacks.length === 1);
    expect(record).toMatchObject({
      expiresIn: 5,
      decision: { outcome: 'expired' },
      callbacks: [{ mode: 'push', trigger: 'expired', outcome: 'delivered' }],
      tokenOutcome: 'expired_token',
    });
  });

  it('issue 12 §2 the secret scan: no secret, token, code, hint, email or phone number in any audit row or log line', async () => {
    // The flows above ran (in every mode); wait until the audit consumer has merged all their events.
    await waitFor(async () => {
      const [row] = await op.db.dataSource.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM audit_records a WHERE a.request_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_evidence_records e WHERE e.event_ids ? a.event_id)`,
      );
      return row.n === 0;
    });
    expect(secrets.size).toBeGreaterThan(25);
    const rows = [
      ...(await op.db.dataSource.query<{ row: string }[]>(`SELECT row_to_json(e)::text AS row FROM audit_evidence_records e`)),
      ...(await op.db.dataSource.query<{ row: string }[]>(`SELECT row_to_json(a)::text AS row FROM audit_records a`)),
    ].map((r) => r.row);
    expect(rows.length).toBeGreaterThan(20);
    expect(lines.length).toBeGreaterThan(0);
    const found: string[] = [];
    for (const [label, value] of secrets) {
      if (rows.some((row) => row.includes(value))) found.push(`${label} in an audit row`);
      if (lines.some((line) => line.includes(value))) found.push(`${label} in a log line`);
    }
    expect(found).toEqual([]);
  });

  it('the scan would find a leaked value (the check is not vacuous): it finds every binding message, kept on purpose', async () => {
    const rows = (await op.db.dataSource.query<{ row: string }[]>(`SELECT row_to_json(e)::text AS row FROM audit_evidence_records e`)).map((r) => r.row);
    expect(messages.length).toBeGreaterThanOrEqual(4);
    for (const message of messages) expect(rows.some((row) => row.includes(message))).toBe(true);
  });
});
