import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, requestIdIn, waitFor } from '@ciba/testing';
import { type ServiceProcess, NO_PROMPT_LIMITS, admin, bootstrapFile, decideOnDevice, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const POLL = { id: 'e2e-evidence-poll', secret: `poll-${randomBytes(12).toString('hex')}` };
const PING = { id: 'e2e-evidence-ping', secret: `ping-${randomBytes(12).toString('hex')}` };
const PUSH = { id: 'e2e-evidence-push', secret: `push-${randomBytes(12).toString('hex')}` };
const EMAIL = 'erin.evidence@example.com';
const PHONE = '+15555550142';

interface StoredRecord {
  readonly issuer: string | null;
  readonly backchannel_endpoint: string | null;
  readonly client_id: string;
  readonly delivery_mode: string | null;
  readonly scope: string[] | null;
  readonly hint_type: string | null;
  readonly user_hint_hash: string | null;
  readonly subject: string;
  readonly binding_message: string | null;
  readonly expires_in: number | null;
  readonly interval: number | null;
  readonly channels: { channel: string; outcome: string }[];
  readonly callbacks: { mode: string; outcome: string; status: number | null }[];
  readonly callback_attempts: { mode: string; attempt: number; outcome: string; status: number | null }[];
  readonly decision: string | null;
  readonly decided_at: Date | null;
  readonly tokens_issued: string[] | null;
  readonly token_outcome: string | null;
}

/**
 * The audit evidence record across separate service processes (authorize, token, notifier, audit,
 * callback dispatcher) on PostgreSQL and NATS JetStream: poll, ping and push flows each leave a
 * complete record, and no secret used in them is in any audit row or any process's log output.
 */
describe('audit evidence record across separate service processes', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'token' | 'notifier' | 'audit' | 'callback-dispatcher', ServiceProcess>;
  let env: Record<string, string>;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const secrets: string[] = [POLL.secret, PING.secret, PUSH.secret, EMAIL, PHONE];

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const auditKey = randomBytes(32).toString('base64url');
    secrets.push(auditKey);
    env = { ...peers.env, ...NO_PROMPT_LIMITS, CIBA_LOG_LEVEL: 'debug', CIBA_AUDIT_HMAC_KEY: auditKey };
    const client = (c: typeof POLL, mode: 'poll' | 'ping' | 'push') => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: [CIBA, 'refresh_token'],
      scope: 'openid email offline_access',
      backchannel_token_delivery_mode: mode,
      ...(mode === 'poll' ? {} : { backchannel_client_notification_endpoint: `${receiver.origin}/${mode}` }),
    });
    const file = await bootstrapFile({
      clients: [client(POLL, 'poll'), client(PING, 'ping'), client(PUSH, 'push')],
      users: [{ sub: 'erin', email: EMAIL, email_verified: true, phone_number: PHONE }],
    });
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);
    services = serviceProcesses(['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'], peers.ports, env);
    await startServices(services);
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [receiver, device], db, busPrefix });
  });

  async function post(url: string, params: Record<string, string>, client: typeof POLL) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function started(client: typeof POLL, hint: string, mode: 'poll' | 'ping' | 'push') {
    const bindingMessage = `evidence ${mode} ${randomBytes(3).toString('hex')}`;
    const cnt = mode === 'poll' ? null : `cnt-${randomBytes(16).toString('base64url')}`;
    if (cnt) secrets.push(cnt);
    secrets.push(hint);
    const res = await post(
      `${services.authorize.url}/bc-authorize`,
      { scope: 'openid email offline_access', login_hint: hint, binding_message: bindingMessage, ...(cnt ? { client_notification_token: cnt } : {}) },
      client,
    );
    expect(res.status).toBe(200);
    const authReqId = String(res.body['auth_req_id']);
    secrets.push(authReqId);
    const notification = await decideOnDevice(device, services.notifier.url, bindingMessage);
    if (notification.decisionToken) secrets.push(notification.decisionToken);
    return { authReqId, bindingMessage };
  }

  const keepTokens = (body: Record<string, unknown>) => {
    for (const name of ['access_token', 'refresh_token', 'id_token']) if (typeof body[name] === 'string') secrets.push(body[name]);
  };

  async function recordOf(authReqId: string, done: (r: StoredRecord) => boolean): Promise<StoredRecord> {
    let found: StoredRecord | undefined;
    await waitFor(
      async () => {
        [found] = await db.dataSource.query<StoredRecord[]>('SELECT * FROM audit_evidence_records WHERE request_id = $1', [requestIdIn(authReqId)]);
        return found !== undefined && done(found);
      },
      { timeoutMs: 20_000, description: 'the evidence record' },
    );
    return found!;
  }

  function expectCommon(record: StoredRecord, client: typeof POLL, mode: string, bindingMessage: string) {
    expect(record).toMatchObject({
      issuer: env['CIBA_ISSUER'],
      backchannel_endpoint: `${services.authorize.url}/bc-authorize`,
      client_id: client.id,
      delivery_mode: mode,
      scope: ['openid', 'email', 'offline_access'],
      hint_type: 'login_hint',
      user_hint_hash: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      subject: 'erin',
      binding_message: bindingMessage,
      expires_in: expect.any(Number),
      channels: [{ channel: 'http', outcome: 'sent', at: expect.any(String) }],
      decision: 'approved',
      decided_at: expect.any(Date),
      tokens_issued: ['access_token', 'id_token', 'refresh_token'],
      token_outcome: 'issued',
    });
  }

  it('CIBA §7, §11 poll: the audit process assembles the complete record', async () => {
    const { authReqId, bindingMessage } = await started(POLL, EMAIL, 'poll');
    let tokens: { status: number; body: Record<string, unknown> } | undefined;
    await waitFor(async () => (tokens = await post(`${services.token.url}/token`, { grant_type: CIBA, auth_req_id: authReqId }, POLL)).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 5_100,
      description: 'the tokens',
    });
    keepTokens(tokens!.body);
    const record = await recordOf(authReqId, (r) => r.token_outcome === 'issued');
    expectCommon(record, POLL, 'poll', bindingMessage);
    expect(record.interval).toEqual(expect.any(Number));
    expect(record.callbacks).toEqual([]);
  }, 60_000);

  it('CIBA §10.2 ping: the callback delivered and the redemption', async () => {
    const { authReqId, bindingMessage } = await started(PING, PHONE, 'ping');
    await receiver.waitFor(authReqId, 1, 20_000);
    const tokens = await post(`${services.token.url}/token`, { grant_type: CIBA, auth_req_id: authReqId }, PING);
    expect(tokens.status).toBe(200);
    keepTokens(tokens.body);
    const record = await recordOf(authReqId, (r) => r.token_outcome === 'issued' && r.callbacks.length === 1 && r.callback_attempts.length === 1);
    expectCommon(record, PING, 'ping', bindingMessage);
    expect(record.callback_attempts).toEqual([expect.objectContaining({ mode: 'ping', attempt: 1, outcome: 'delivered', status: 204 })]);
    expect(record.callbacks).toEqual([expect.objectContaining({ mode: 'ping', trigger: 'approved', outcome: 'delivered', attempts: 1, status: 204 })]);
  }, 60_000);

  it('CIBA §10.3 push: no interval, the tokens pushed and the callback delivered', async () => {
    const { authReqId, bindingMessage } = await started(PUSH, EMAIL, 'push');
    const [callback] = await receiver.waitFor(authReqId, 1, 20_000);
    keepTokens(callback.body);
    const record = await recordOf(authReqId, (r) => r.token_outcome === 'issued' && r.callbacks.length === 1 && r.callback_attempts.length === 1);
    expectCommon(record, PUSH, 'push', bindingMessage);
    expect(record.callback_attempts).toEqual([expect.objectContaining({ mode: 'push', attempt: 1, outcome: 'delivered', status: 204 })]);
    expect(record.interval).toBeNull();
    expect(record.callbacks).toEqual([expect.objectContaining({ mode: 'push', trigger: 'approved', outcome: 'delivered', status: 204 })]);
  }, 60_000);

  it('issue 12 §2 no secret, token, hint, email or phone number in any audit row or any process log', async () => {
    expect(secrets.length).toBeGreaterThan(15);
    const rows = [
      ...(await db.dataSource.query<{ row: string }[]>('SELECT row_to_json(e)::text AS row FROM audit_evidence_records e')),
      ...(await db.dataSource.query<{ row: string }[]>('SELECT row_to_json(a)::text AS row FROM audit_records a')),
    ].map((r) => r.row);
    expect(rows.length).toBeGreaterThanOrEqual(3 + 12);
    const logs = Object.values(services).map((s) => s.output);
    expect(logs.every((output) => output.length > 0)).toBe(true);
    const found = secrets.flatMap((secret, i) => [
      ...(rows.some((row) => row.includes(secret)) ? [`secret #${i} in an audit row`] : []),
      ...(logs.some((output) => output.includes(secret)) ? [`secret #${i} in a log`] : []),
    ]);
    expect(found).toEqual([]);
  });
});
