import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect } from '@nats-io/transport-node';
import { type ClientReceiver, type DeviceEmulator, type PrometheusSample, type TestDatabase, requestIdIn, scrapeMetrics, sumSamples, waitFor } from '@ciba/testing';
import { type ServiceName, type ServiceProcess, admin, bootstrapFile, consumerBacklog, deploymentPeers, serviceReplicas, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const SERVICES: readonly ServiceName[] = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];
const REPLICAS = 2;
/** Bounded load: this many complete flows, this many at a time, spread over a few users. */
const FLOWS = 240;
const CONCURRENCY = 24;
const USERS = 8;
/** Seconds between polls the provider asks of poll clients (CIBA_POLL_INTERVAL). */
const POLL_INTERVAL_S = 1;

type Mode = 'ping' | 'push' | 'poll';
const MODES: readonly Mode[] = ['ping', 'push', 'poll'];
const CLIENTS: Record<Mode, { readonly id: string; readonly secret: string }> = {
  ping: { id: 'scale-ping', secret: `ping-${randomBytes(6).toString('hex')}` },
  push: { id: 'scale-push', secret: `push-${randomBytes(6).toString('hex')}` },
  poll: { id: 'scale-poll', secret: `poll-${randomBytes(6).toString('hex')}` },
};
/** The audit trail of one approved and redeemed request of each mode: every lifecycle event once. */
const TRAIL: Record<Mode, readonly string[]> = {
  ping: ['auth_request.approved', 'auth_request.client_notification_attempted', 'auth_request.client_notified', 'auth_request.created', 'auth_request.device_notified', 'auth_request.redeemed'],
  push: ['auth_request.approved', 'auth_request.client_notification_attempted', 'auth_request.client_notified', 'auth_request.created', 'auth_request.device_notified', 'auth_request.redeemed'],
  poll: ['auth_request.approved', 'auth_request.created', 'auth_request.device_notified', 'auth_request.redeemed'],
};

/** One request's way through the deployment, and which replica served each step. */
interface Flow {
  readonly index: number;
  readonly mode: Mode;
  readonly bindingMessage: string;
  readonly notificationToken: string;
  authReqId?: string;
  /** Token endpoint answers, in order: [pending poll (poll mode)], redemption, second redemption. */
  readonly tokenAnswers: { status: number; error?: string; accessToken?: boolean }[];
  failure?: string;
}

/**
 * Two replicas of every service (authorize, token, notifier, audit, callback-dispatcher) as separate
 * processes on one PostgreSQL database and one JetStream bus, under a bounded mixed load (ping, push
 * and poll clients; relying-party calls spread round-robin over the authorize and token replicas,
 * device answers over the notifier replicas). Every request is handled once (one auth_req_id, one
 * device notification, one client callback, one redemption, one audit record per event) and the
 * work is shared (each replica's own /metrics shows it did some).
 */
describe('scale-out: two replicas of every service share the work and handle each request once', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let replicas: Record<ServiceName, ServiceProcess[]> | undefined;
  let nats: NatsConnection | undefined;
  let jsm: JetStreamManager;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const env = {
      ...peers.env,
      CIBA_POLL_INTERVAL: String(POLL_INTERVAL_S),
      CIBA_LOG_LEVEL: 'warn',
      // Ten processes on one PostgreSQL: small pools keep them under max_connections.
      CIBA_DATABASE_POOL_SIZE: '4',
      // Many requests for a few users from three clients: the prompt limits have their own tests.
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_CLIENT_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
    };
    const client = (mode: Mode) => ({
      client_id: CLIENTS[mode].id,
      client_secret: CLIENTS[mode].secret,
      grant_types: [CIBA],
      scope: 'openid',
      backchannel_token_delivery_mode: mode,
      ...(mode === 'poll' ? {} : { backchannel_client_notification_endpoint: `${receiver.origin}/${mode}` }),
    });
    const users = Array.from({ length: USERS }, (_, i) => ({ sub: `scale-user-${i}` }));
    await admin(['bootstrap', '--file', await bootstrapFile({ clients: MODES.map(client), users })], env);
    nats = await connect({ servers: peers.env['CIBA_NATS_SERVERS'] });
    jsm = await jetstreamManager(nats);
    replicas = await serviceReplicas(SERVICES, REPLICAS, peers.ports, env);
    await startServices(replicas);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(replicas ?? {}).flat(), peers: [nats, device, receiver], db, busPrefix });
  });

  /** Round-robin over a service's replicas, as a load balancer would. */
  const turns = new Map<ServiceName, number>();
  const next = (name: ServiceName): ServiceProcess => {
    const turn = turns.get(name) ?? 0;
    turns.set(name, turn + 1);
    return replicas![name][turn % REPLICAS];
  };
  const form = async (url: string, mode: Mode, params: Record<string, string>) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENTS[mode].id}:${CLIENTS[mode].secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const redeem = async (flow: Flow, token: ServiceProcess) => {
    const res = await form(`${token.url}/token`, flow.mode, { grant_type: CIBA, auth_req_id: flow.authReqId! });
    flow.tokenAnswers.push({ status: res.status, error: res.body['error'] as string | undefined, accessToken: typeof res.body['access_token'] === 'string' });
  };

  /** bc-authorize → [a pending poll] → the device's notification → its approval → the client's callback → two redemptions. */
  async function run(flow: Flow): Promise<void> {
    const { mode } = flow;
    const params: Record<string, string> = { scope: 'openid', login_hint: `scale-user-${flow.index % USERS}`, binding_message: flow.bindingMessage };
    if (mode !== 'poll') params['client_notification_token'] = flow.notificationToken;
    const started = await form(`${next('authorize').url}/bc-authorize`, mode, params);
    if (started.status !== 200 || typeof started.body['auth_req_id'] !== 'string') throw new Error(`bc-authorize answered ${started.status} ${JSON.stringify(started.body)}`);
    flow.authReqId = started.body['auth_req_id'];
    let polledAt = 0;
    if (mode === 'poll') {
      polledAt = Date.now();
      await redeem(flow, next('token'));
    }
    const notification = await device.notificationFor((n) => n.body['binding_message'] === flow.bindingMessage, 30_000);
    const approved = await fetch(`${next('notifier').url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${notification.decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'SUCCEED' }),
    });
    if (approved.status !== 200) throw new Error(`the device's approval answered ${approved.status}`);
    if (mode === 'push') {
      await receiver.waitFor(flow.authReqId, 1, 30_000);
      return;
    }
    if (mode === 'ping') await receiver.waitFor(flow.authReqId, 1, 30_000);
    // A poll client keeps to its interval (CIBA §7.3), here between its pending poll and the next.
    const wait = polledAt + POLL_INTERVAL_S * 1000 + 100 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // Redeemed on one token replica, then tried again on the other.
    const first = next('token');
    await redeem(flow, first);
    await redeem(flow, replicas!.token.find((t) => t !== first)!);
  }

  it(`${FLOWS} ping, push and poll flows across two replicas of each service: each request handled once, the work shared`, async () => {
    const flows: Flow[] = Array.from({ length: FLOWS }, (_, index) => ({
      index,
      mode: MODES[index % MODES.length],
      bindingMessage: `Scale ${index} ${randomBytes(3).toString('hex')}`,
      notificationToken: randomBytes(16).toString('base64url'),
      tokenAnswers: [],
    }));
    let taken = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (taken < flows.length) {
          const flow = flows[taken++];
          await run(flow).catch((error: unknown) => (flow.failure = error instanceof Error ? error.message : String(error)));
        }
      }),
    );
    expect(flows.filter((f) => f.failure).map((f) => `${f.mode} ${f.index}: ${f.failure}`)).toEqual([]);

    // Quiescence: every consumer of the deployment's bus has handled (and acknowledged) all it was
    // given, so no notification or callback is still to come and the counts below are final.
    await waitFor(async () => Object.values(await consumerBacklog(jsm, busPrefix)).every((n) => n === 0), { timeoutMs: 30_000, description: 'every bus consumer idle' });

    // Every bc-authorize got its own auth_req_id.
    const authReqIds = flows.map((f) => f.authReqId!);
    expect(new Set(authReqIds).size).toBe(FLOWS);

    // One device notification per request; the device never failed one (nothing forced a resend).
    const notified = new Map<unknown, number>();
    for (const n of device.received) notified.set(n.body['binding_message'], (notified.get(n.body['binding_message']) ?? 0) + 1);
    expect(flows.filter((f) => notified.get(f.bindingMessage) !== 1).map((f) => `${f.mode} ${f.index}: ${notified.get(f.bindingMessage) ?? 0} notifications`)).toEqual([]);
    expect(device.received).toHaveLength(FLOWS);

    // One client callback per ping or push request, to its own endpoint with its own bearer; none for poll.
    const callbackCounts = flows.map((f) => ({ flow: `${f.mode} ${f.index}`, callbacks: receiver.for(f.authReqId!).length }));
    expect(callbackCounts.filter((c, i) => c.callbacks !== (flows[i].mode === 'poll' ? 0 : 1))).toEqual([]);
    for (const f of flows.filter((x) => x.mode !== 'poll')) {
      const [callback] = receiver.for(f.authReqId!);
      expect({ path: callback?.path, bearer: callback?.headers['authorization'], status: callback?.status }).toEqual({ path: `/${f.mode}`, bearer: `Bearer ${f.notificationToken}`, status: 204 });
      if (f.mode === 'push') expect(callback?.body).toMatchObject({ auth_req_id: f.authReqId, access_token: expect.any(String), id_token: expect.any(String) });
      else expect(callback?.body).toEqual({ auth_req_id: f.authReqId });
    }
    expect(receiver.received).toHaveLength(flows.filter((f) => f.mode !== 'poll').length);

    // Ping and poll: one redemption with tokens, the second (on the other token replica) refused.
    const redemption = (f: Flow) => f.tokenAnswers.slice(f.mode === 'poll' ? 1 : 0);
    for (const f of flows.filter((x) => x.mode !== 'push')) {
      expect({ flow: `${f.mode} ${f.index}`, answers: redemption(f) }).toEqual({
        flow: `${f.mode} ${f.index}`,
        answers: [
          { status: 200, error: undefined, accessToken: true },
          { status: 400, error: 'invalid_grant', accessToken: false },
        ],
      });
    }
    for (const f of flows.filter((x) => x.mode === 'poll')) expect(f.tokenAnswers[0]).toEqual({ status: 400, error: 'authorization_pending', accessToken: false });

    // Every request redeemed once in PostgreSQL, each ping and push callback delivered once.
    const requestIds = authReqIds.map(requestIdIn);
    const statuses = await db.dataSource.query<{ status: string; n: number }[]>(`SELECT status, count(*)::int AS n FROM auth_requests WHERE id = ANY($1::uuid[]) GROUP BY status`, [requestIds]);
    expect(statuses).toEqual([{ status: 'redeemed', n: FLOWS }]);
    const deliveries = await db.dataSource.query<{ status: string; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM callback_deliveries WHERE request_id = ANY($1::uuid[]) GROUP BY status`,
      [requestIds],
    );
    expect(deliveries).toEqual([{ status: 'delivered', n: flows.filter((f) => f.mode !== 'poll').length }]);

    // The audit trail: each lifecycle event of each request recorded once.
    const trails = async () =>
      db.dataSource.query<{ request_id: string; types: string[] }[]>(
        `SELECT request_id, array_agg(type ORDER BY type) AS types FROM audit_records WHERE request_id = ANY($1::text[]) GROUP BY request_id`,
        [requestIds],
      );
    const expectedEvents = flows.reduce((sum, f) => sum + TRAIL[f.mode].length, 0);
    await waitFor(async () => (await trails()).reduce((sum, t) => sum + t.types.length, 0) >= expectedEvents, { timeoutMs: 20_000, description: 'every audit record' });
    const trailOf = new Map((await trails()).map((t) => [t.request_id, t.types]));
    expect(flows.map((f, i) => ({ flow: `${f.mode} ${f.index}`, trail: trailOf.get(requestIds[i]) }))).toEqual(flows.map((f) => ({ flow: `${f.mode} ${f.index}`, trail: TRAIL[f.mode] })));

    // The bus carried each event once (deterministic message ids), and the consumers handled each
    // once between their replicas: the notifier the created events, audit every event, the
    // dispatcher the outcome events (one approval per request; the others it acknowledges unread).
    const lifecycle = await jsm.streams.info(`${busPrefix}_CIBA_LIFECYCLE`);
    expect(lifecycle.state.messages).toBe(expectedEvents);

    const metrics = Object.fromEntries(
      await Promise.all(SERVICES.map(async (name) => [name, await Promise.all(replicas![name].map((r) => scrapeMetrics(r.url)))] as const)),
    ) as Record<ServiceName, PrometheusSample[][]>;
    const perReplica = (name: ServiceName, metric: string, labels: Record<string, string>) => metrics[name].map((samples) => sumSamples(samples, metric, labels));
    const total = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
    // Settled as `ack` (done), `retry` or `dead-letter`.
    const handled = (name: ServiceName, consumer: string) => {
      const acked = perReplica(name, 'ciba_bus_messages_handled_total', { consumer, outcome: 'ack' });
      const retried = total(perReplica(name, 'ciba_bus_messages_handled_total', { consumer, outcome: 'retry' }));
      const deadLettered = total(perReplica(name, 'ciba_bus_messages_handled_total', { consumer, outcome: 'dead-letter' }));
      return { acked, total: total(acked), retried, deadLettered };
    };
    const shares: Record<string, readonly number[]> = {};
    for (const [name, consumer, messages] of [
      ['notifier', 'notifier', FLOWS],
      ['audit', 'audit', expectedEvents],
      ['callback-dispatcher', 'callback-dispatcher', FLOWS],
    ] as const) {
      const h = handled(name, consumer);
      shares[`${consumer} messages`] = h.acked;
      expect({ consumer, acked: h.total, retried: h.retried, deadLettered: h.deadLettered }).toEqual({ consumer, acked: messages, retried: 0, deadLettered: 0 });
    }

    const requests = (name: ServiceName, route: string, status: string) => perReplica(name, 'ciba_http_requests_total', { method: 'POST', route, status });
    shares['bc-authorize 200'] = requests('authorize', '/bc-authorize', '200');
    shares['token 200'] = requests('token', '/token', '200');
    shares['device notifications sent'] = perReplica('notifier', 'ciba_channel_sends_total', { channel: 'http', outcome: 'sent' });
    shares['device callback 200'] = requests('notifier', '/ext/ciba/auth/callback', '200');
    shares['callbacks delivered'] = perReplica('callback-dispatcher', 'ciba_callback_attempts_total', { outcome: 'delivered' });
    const redeemers = flows.filter((f) => f.mode !== 'push').length;
    expect({
      'bc-authorize 200': total(shares['bc-authorize 200']),
      'token 200': total(shares['token 200']),
      'token 400': total(requests('token', '/token', '400')),
      'device notifications sent': total(shares['device notifications sent']),
      'device notifications not sent': total(perReplica('notifier', 'ciba_channel_sends_total', {})) - total(shares['device notifications sent']),
      'device callback 200': total(shares['device callback 200']),
      'callbacks delivered': total(shares['callbacks delivered']),
      'callback attempts not delivered': total(perReplica('callback-dispatcher', 'ciba_callback_attempts_total', {})) - total(shares['callbacks delivered']),
    }).toEqual({
      'bc-authorize 200': FLOWS,
      'token 200': redeemers,
      'token 400': redeemers + flows.filter((f) => f.mode === 'poll').length,
      'device notifications sent': FLOWS,
      'device notifications not sent': 0,
      'device callback 200': FLOWS,
      'callbacks delivered': flows.filter((f) => f.mode !== 'poll').length,
      'callback attempts not delivered': 0,
    });

    // Work shared: every replica of every service did a part of it.
    expect(Object.entries(shares).filter(([, counts]) => counts.some((n) => n === 0))).toEqual([]);
    process.stdout.write(`scale-out shares per replica: ${JSON.stringify(shares)}\n`);
  }, 150_000);
});
