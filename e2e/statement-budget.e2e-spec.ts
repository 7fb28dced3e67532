import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ClientReceiver, type DeviceEmulator, PgStatementRelay, type RelayedStatement, type TestDatabase, waitFor } from '@ciba/testing';
import { type ServiceName, ServiceProcess, admin, bootstrapFile, deploymentPeers, startServices, tearDownDeployment } from './service-processes.js';

const PING = { id: 'budget-ping', secret: `ping-${randomBytes(6).toString('hex')}` };
const CIBA = 'urn:openid:params:grant-type:ciba';
const SERVICES: readonly ServiceName[] = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];

/**
 * The PostgreSQL statements (round trips) of a whole ping flow, by service, counted on the wire: each
 * service talks to PostgreSQL through its own counting relay. A flow is bc-authorize → the device
 * notified → approval → the ping callback → the token redemption, with every lifecycle event audited.
 * Statements shared by many flows (the audit's batched inserts, the notifier's deferred markers) are
 * counted in full and divided by the flows, which run several at a time as under load.
 */
const BUDGET: Record<ServiceName, number> & { total: number } = {
  /** The user found by the hint and the request stored, in one statement. */
  authorize: 1,
  /** The poll that finds the request approved redeems it, stores the refresh token and reads the end-user's claims. */
  token: 1,
  /** The notification's claim and the decision, one statement each, plus the deferred markers of several requests at once. */
  notifier: 2.5,
  /** The request read and its ping stored with the first attempt claimed, then the attempt's outcome. */
  'callback-dispatcher': 2,
  /**
   * A flow's events in batches shared with other flows (a 500 ms group-commit window), one statement a
   * batch: the hash-chained trail appended and the requests' evidence records merged together. How
   * many flows share a batch moves with timing (4 to 19 batches for 24 flows seen): at most one a flow.
   */
  audit: 1,
  total: 7.5,
};
const FLOWS = 24;
const CONCURRENT = 6;

/** Work that is not any flow's: readiness probes and the signing-key refresh. The expiry sweeper is set to run once a minute. */
const background = (sql: string) => sql === 'SELECT 1' || /FROM "?signing_keys"?/.test(sql);

describe('statement budget: PostgreSQL round trips of a whole ping flow, by service', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  const relays = {} as Record<ServiceName, PgStatementRelay>;
  let services: Record<ServiceName, ServiceProcess>;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const { ports } = peers;
    // Many requests for one user: the prompt limits stay on (they are counted in the notifier's claim).
    const env = { ...peers.env, CIBA_SWEEP_INTERVAL_MS: '60000', CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '1000' };
    const file = await bootstrapFile({
      clients: [
        {
          client_id: PING.id,
          client_secret: PING.secret,
          grant_types: [CIBA, 'refresh_token'],
          scope: 'openid offline_access',
          backchannel_token_delivery_mode: 'ping',
          backchannel_client_notification_endpoint: `${receiver.origin}/ping`,
        },
      ],
      users: [{ sub: 'dave', email: 'dave@example.com' }],
    });
    await admin(['bootstrap', '--file', file], env);
    for (const name of SERVICES) relays[name] = await PgStatementRelay.start();
    services = Object.fromEntries(
      SERVICES.map((name) => [name, new ServiceProcess(name, ports[name], { ...env, CIBA_DATABASE_URL: relays[name].url(db.url) })]),
    ) as Record<ServiceName, ServiceProcess>;
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [...Object.values(relays), receiver, device], db, busPrefix });
  });

  const basic = `Basic ${Buffer.from(`${PING.id}:${PING.secret}`).toString('base64')}`;
  const form = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };

  async function pingFlow(label: string): Promise<void> {
    const bindingMessage = `${label} ${randomBytes(3).toString('hex')}`;
    const started = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ scope: 'openid', login_hint: 'dave', binding_message: bindingMessage, client_notification_token: `bearer-${label}` }),
    });
    expect(started.status).toBe(200);
    const { auth_req_id: authReqId } = (await started.json()) as { auth_req_id: string };
    const notification = await device.notificationFor((n) => n.body['binding_message'] === bindingMessage, 15_000);
    const decided = await fetch(`${services.notifier.url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${notification.decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'SUCCEED' }),
    });
    expect(decided.status).toBe(200);
    await receiver.waitFor(authReqId);
    const tokens = await fetch(`${services.token.url}/token`, { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: CIBA, auth_req_id: authReqId }) });
    expect(tokens.status).toBe(200);
  }

  /** Every flow's statements, once the audit has every event and the deferred markers are written. */
  async function settled(flows: number, since: Record<ServiceName, number>): Promise<Record<ServiceName, RelayedStatement[]>> {
    await waitFor(
      async () => {
        const [{ n }] = await db.dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM auth_requests WHERE status = 'redeemed' AND notified_at IS NOT NULL AND outcome_published_at IS NOT NULL`,
        );
        return n >= flows;
      },
      { timeoutMs: 20_000, description: 'every flow redeemed with its markers written' },
    );
    // The last event of a flow (redeemed) reaches the audit after the token response.
    await waitFor(
      async () => {
        const [{ n }] = await db.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM audit_records WHERE type = 'auth_request.redeemed'`);
        return n >= flows;
      },
      { timeoutMs: 20_000, description: 'the audit has every redemption' },
    );
    return Object.fromEntries(SERVICES.map((name) => [name, relays[name].since(since[name]).filter((s) => !background(s.sql))])) as Record<
      ServiceName,
      RelayedStatement[]
    >;
  }

  it(`a whole ping flow costs at most ${BUDGET.total} statements (${SERVICES.map((s) => `${s} ${BUDGET[s]}`).join(', ')})`, async () => {
    // Warm-up: the first flow caches the client and creates the (client, user) prompt-limit row.
    await pingFlow("warmup");
    await settled(1, Object.fromEntries(SERVICES.map((name) => [name, 0])) as Record<ServiceName, number>);
    const marks = Object.fromEntries(SERVICES.map((name) => [name, relays[name].mark()])) as Record<ServiceName, number>;

    for (let i = 0; i < FLOWS; i += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, (_, j) => pingFlow(`flow${i + j}`)));
    }
    const statements = await settled(FLOWS + 1, marks);

    const perFlow = Object.fromEntries(SERVICES.map((name) => [name, statements[name].length / FLOWS])) as Record<ServiceName, number>;
    const total = SERVICES.reduce((sum, name) => sum + perFlow[name], 0);
    // On failure each service over its budget is listed with its statements, most frequent first.
    const over = SERVICES.filter((name) => perFlow[name] > BUDGET[name]).map(
      (name) => `${name}: ${perFlow[name].toFixed(2)} per flow > ${BUDGET[name]}\n${histogram(statements[name])}`,
    );
    if (total > BUDGET.total) over.push(`total: ${total.toFixed(2)} per flow > ${BUDGET.total}`);
    expect(over).toEqual([]);
  }, 120_000);
});

function histogram(statements: readonly RelayedStatement[]): string {
  const counts = new Map<string, number>();
  for (const { sql } of statements) {
    const key = sql.replace(/\s+/g, ' ').slice(0, 140);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([sql, n]) => `  ${n}× ${sql}`)
    .join('\n');
}
