import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ClientReceiver, DeviceEmulator, SmtpPeer, type TestDatabase, approvalLinkIn, createTestDatabase, mailParts, smtpEnvironment, waitFor } from '@ciba/testing';
import { type Answer, approvalForm, deviceCallback, tokenHash, untilDefinitive } from './decision-retries.js';
import { type ServiceProcess, admin, deploymentEnvironment, serviceProcesses, servicePorts, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const POLL = { id: 'crash-poll', secret: `poll-${randomBytes(6).toString('hex')}` };
const PING = { id: 'crash-ping', secret: `ping-${randomBytes(6).toString('hex')}` };

/** One request of a burst: who decides it, where, and what. */
interface Flow {
  readonly client: typeof POLL;
  readonly via: 'device' | 'page';
  readonly approve: boolean;
}
/** Each burst: 8 device decisions (6 approvals, 2 denials; poll and ping) and 2 on the approval page. */
const BURST: readonly Flow[] = [
  { client: POLL, via: 'device', approve: true },
  { client: PING, via: 'device', approve: true },
  { client: POLL, via: 'device', approve: true },
  { client: PING, via: 'device', approve: true },
  { client: POLL, via: 'device', approve: false },
  { client: PING, via: 'device', approve: false },
  { client: POLL, via: 'page', approve: true },
  { client: POLL, via: 'device', approve: true },
  { client: PING, via: 'device', approve: true },
  { client: POLL, via: 'page', approve: false },
];
/**
 * One round per entry, 40 device decisions in all: the notifier is killed this long after the
 * first decision of its burst was answered, while the others are being applied.
 */
const KILL_AFTER_FIRST_ANSWER_MS = [0, 2, 5, 10, 20];

interface Decided extends Flow {
  readonly label: string;
  readonly authReqId: string;
  /** The hash of the token that decided it (device decision token or approval link). */
  readonly tokenHash: string;
  readonly answer: Answer;
}

/**
 * The notifier is killed (SIGKILL) while authentication devices' decisions are being applied, at a
 * different moment in each of several bursts, and restarted; every device and browser retries its
 * decision until it gets a definitive answer. No approval may be lost (the client gets its tokens,
 * the ping arrives) and none applied twice (one decision, one decided audit record, one used token
 * per request). Separate processes, PostgreSQL and NATS JetStream for real.
 */
describe('lost approvals: kill -9 of the notifier while decisions are applied loses none and applies none twice', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let smtp: SmtpPeer;
  let services: Record<'authorize' | 'token' | 'notifier' | 'audit' | 'callback-dispatcher', ServiceProcess>;
  let bootstrapDir: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    [db, device, receiver, smtp] = await Promise.all([createTestDatabase(), DeviceEmulator.start(), ClientReceiver.start(), SmtpPeer.start()]);
    const ports = await servicePorts();
    const env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      ...smtpEnvironment(smtp),
      CIBA_AUTH_CHANNEL_URI: device.url,
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
      CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true',
      CIBA_SWEEP_INTERVAL_MS: '200',
      CIBA_REPUBLISH_AFTER_MS: '1000',
      CIBA_LOG_LEVEL: 'warn',
    };
    const client = (c: typeof POLL, mode: 'poll' | 'ping') => ({
      client_id: c.id,
      client_secret: c.secret,
      client_name: `Crash ${mode}`,
      grant_types: [CIBA],
      scope: 'openid',
      backchannel_token_delivery_mode: mode,
      ...(mode === 'ping' ? { backchannel_client_notification_endpoint: `${receiver.origin}/ping` } : {}),
    });
    bootstrapDir = await mkdtemp(join(tmpdir(), 'ciba-e2e-crash-'));
    const file = join(bootstrapDir, 'bootstrap.json');
    await writeFile(
      file,
      JSON.stringify({
        clients: [client(POLL, 'poll'), client(PING, 'ping')],
        // dave answers on his authentication device (the HTTP channel); erin on the approval page her email links to.
        users: [{ sub: 'dave' }, { sub: 'erin', email: 'erin@example.com', email_verified: true, channel_preference: ['email'] }],
      }),
    );
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);
    services = serviceProcesses(['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'], ports, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device, receiver, smtp], db, busPrefix, dirs: [bootstrapDir] });
  });

  const basic = (c: typeof POLL) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;
  const form = async (url: string, c: typeof POLL, params: Record<string, string>) => {
    const res = await fetch(url, { method: 'POST', headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** bc-authorize, then what the user received: the device's decision token, or the approval page's form. */
  async function started(flow: Flow, label: string) {
    const params: Record<string, string> = { scope: 'openid', login_hint: flow.via === 'device' ? 'dave' : 'erin', binding_message: label, requested_expiry: '300' };
    const status = flow.approve ? 'SUCCEED' : flow.client === PING ? 'CANCELLED' : 'UNAUTHORIZED';
    if (flow.client === PING) params['client_notification_token'] = `cnt-${randomBytes(8).toString('hex')}`;
    const res = await form(`${services.authorize.url}/bc-authorize`, flow.client, params);
    if (res.status !== 200) throw new Error(`bc-authorize answered ${res.status}`);
    const authReqId = String(res.body['auth_req_id']);
    const decision = flow.approve ? 'approve' : 'deny';
    if (flow.via === 'device') {
      const token = (await device.notificationFor((n) => n.body['binding_message'] === label, 15_000)).decisionToken ?? '';
      return { authReqId, tokenHash: tokenHash(token), send: deviceCallback(services.notifier.url, token, status) };
    }
    const mail = await smtp.mailTo('erin@example.com', { containing: label, timeoutMs: 15_000 });
    const link = approvalLinkIn(mailParts(mail.raw).text ?? '', services.notifier.url);
    return { authReqId, tokenHash: tokenHash(new URL(link).pathname.split('/').pop() ?? ''), send: await approvalForm(link, decision) };
  }

  it('every approval yields tokens and its ping, every decision is applied exactly once', async () => {
    const decided: Decided[] = [];
    for (const [round, killAfterMs] of KILL_AFTER_FIRST_ANSWER_MS.entries()) {
      const flows = await Promise.all(
        BURST.map(async (flow, i) => {
          const label = `Crash ${round}.${i} ${randomBytes(2).toString('hex')}`;
          return { ...flow, label, ...(await started(flow, label)) };
        }),
      );
      const answers = flows.map((flow) => untilDefinitive(flow.send, Date.now() + 60_000));
      await Promise.race(answers);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs)); // the moment of the crash, not a wait for an outcome
      await services.notifier.stop('SIGKILL');
      await services.notifier.start();
      const settled = await Promise.all(answers);
      flows.forEach((flow, i) => decided.push({ ...flow, answer: settled[i] }));
    }
    expect(decided.filter((d) => d.via === 'device')).toHaveLength(40);
    expect(decided.some((d) => d.answer.attempts > 1)).toBe(true); // the kills did hit decisions in flight

    // 0 approvals lost: every approved poll request yields tokens (one token call each).
    const poll = async (d: Decided) => form(`${services.token.url}/token`, d.client, { grant_type: CIBA, auth_req_id: d.authReqId });
    const lost: string[] = [];
    for (const d of decided.filter((x) => x.approve && x.client === POLL)) {
      const res = await poll(d);
      if (res.status !== 200) lost.push(`${d.label} (${d.via}): ${String(res.body['error'])}, answered ${d.answer.status} ${d.answer.body.slice(0, 80)}`);
    }
    expect(lost).toEqual([]);

    // Ping: the ping arrives for every decided request, exactly once, and the approvals then yield tokens.
    const pings = decided.filter((d) => d.client === PING);
    const unpinged = () => pings.filter((d) => receiver.for(d.authReqId).length === 0);
    // Bounded: a lost event is republished within about a second; on timeout the list below names the losses.
    await waitFor(() => unpinged().length === 0, { timeoutMs: 20_000, description: 'a ping for every decided ping request' }).catch(() => undefined);
    expect(unpinged().map((d) => `${d.label} (${d.approve ? 'approved' : 'denied'}): answered ${d.answer.status} ${d.answer.body.slice(0, 80)}`)).toEqual([]);
    for (const d of pings) expect({ label: d.label, pings: receiver.for(d.authReqId).length }).toEqual({ label: d.label, pings: 1 });
    for (const d of pings.filter((x) => x.approve)) expect({ label: d.label, status: (await poll(d)).status }).toEqual({ label: d.label, status: 200 });
    for (const d of decided.filter((x) => !x.approve)) expect({ label: d.label, error: (await poll(d)).body['error'] }).toEqual({ label: d.label, error: 'access_denied' });

    // Every device and browser was told its decision stands (200, the result page), never refused.
    for (const d of decided) {
      const told = d.via === 'device' ? d.answer.body : (/<h1[^>]*>([^<]*)<\/h1>/.exec(d.answer.body)?.[1] ?? d.answer.body.slice(0, 200));
      const expected = d.via === 'device' ? '{}' : d.approve ? 'Approved' : 'Denied';
      expect({ label: d.label, status: d.answer.status, told }).toEqual({ label: d.label, status: 200, told: expected });
    }

    // 0 applied twice: per request one used token, carrying the request's one decision; one decided audit record.
    const rows = await db.dataSource.query<{ token_hash: string; decision: string | null; used: boolean; status: string }[]>(
      `SELECT d.token_hash, d.decision, d.used_at IS NOT NULL AS used, r.status
         FROM decision_tokens d JOIN auth_requests r ON r.id = d.request_id
        WHERE d.request_id IN (SELECT request_id FROM decision_tokens WHERE token_hash = ANY($1))`,
      [decided.map((d) => d.tokenHash)],
    );
    for (const d of decided) {
      const outcome = d.approve ? 'approved' : 'denied';
      const own = rows.find((r) => r.token_hash === d.tokenHash);
      // Approved requests were redeemed by the token calls above.
      expect({ label: d.label, status: own?.status, decision: own?.decision }).toEqual({ label: d.label, status: d.approve ? 'redeemed' : 'denied', decision: outcome });
    }
    expect(rows.filter((r) => r.used).map((r) => r.token_hash).sort()).toEqual(decided.map((d) => d.tokenHash).sort());

    const audited = async () =>
      db.dataSource.query<{ token_hash: string; types: string[] }[]>(
        `SELECT d.token_hash, array_agg(a.type ORDER BY a.type) AS types
           FROM decision_tokens d JOIN audit_records a ON a.request_id = d.request_id::text
          WHERE d.token_hash = ANY($1) AND a.type IN ('auth_request.approved', 'auth_request.denied')
          GROUP BY d.token_hash`,
        [decided.map((d) => d.tokenHash)],
      );
    await waitFor(async () => (await audited()).length === decided.length, { timeoutMs: 20_000, description: 'a decided audit record for every request' });
    const records = await audited();
    for (const d of decided) {
      expect({ label: d.label, types: records.find((r) => r.token_hash === d.tokenHash)?.types }).toEqual({ label: d.label, types: [d.approve ? 'auth_request.approved' : 'auth_request.denied'] });
    }
    // Every outcome event confirmed on the bus (the outbox marker), none left for the sweeper.
    await waitFor(
      async () => (await db.dataSource.query<unknown[]>(`SELECT 1 FROM auth_requests WHERE status <> 'pending' AND outcome_published_at IS NULL`)).length === 0,
      { timeoutMs: 10_000, description: 'every outcome event confirmed published' },
    );
  }, 150_000);
});
