import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type ClientReceiver,
  type DeviceEmulator,
  type PrometheusSample,
  type TestDatabase,
  freePort,
  parsePrometheusText,
  scrapeMetrics,
  sumSamples,
  waitFor,
} from '@ciba/testing';
import { type ServiceName, ServiceProcess, admin, bootstrapFile, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const POLL = { id: 'metrics-poll', secret: `poll-${randomBytes(6).toString('hex')}` };
const PING = { id: 'metrics-ping', secret: `ping-${randomBytes(6).toString('hex')}` };
const CIBA = 'urn:openid:params:grant-type:ciba';
const ALL: readonly ServiceName[] = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];

/**
 * `/metrics` on every service after real flows across separate processes: one ping flow approved,
 * one poll flow denied, one left to expire. The notifier serves its metrics on a port of its own
 * (`CIBA_METRICS_PORT`); the others on their service port.
 */
describe('Prometheus metrics on every service', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<ServiceName, ServiceProcess>;
  let notifierMetricsPort: number;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const scraped = new Map<ServiceName, { text: string; samples: PrometheusSample[] }>();
  const secrets: string[] = [];

  const metricsOrigin = (name: ServiceName) => (name === 'notifier' ? `http://127.0.0.1:${notifierMetricsPort}` : services[name].url);

  const bcAuthorize = async (client: typeof POLL, body: Record<string, string>) => {
    const res = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'erin', ...body }),
    });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { auth_req_id: string };
    secrets.push(json.auth_req_id);
    return json.auth_req_id;
  };

  const redeem = (client: typeof POLL, authReqId: string) =>
    fetch(`${services.token.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: CIBA, auth_req_id: authReqId }),
    });

  const decide = async (bindingMessage: string, status: 'SUCCEED' | 'UNAUTHORIZED') => {
    const n = await device.notificationFor((x) => x.body['binding_message'] === bindingMessage, 15_000);
    secrets.push(n.decisionToken!);
    const res = await fetch(`${services.notifier.url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${n.decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    expect(res.status).toBe(200);
  };

  const value = (name: ServiceName, series: string, labels: Record<string, string> = {}) => sumSamples(scraped.get(name)!.samples, series, labels);

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    notifierMetricsPort = await freePort();
    const env = {
      ...peers.env,
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
      CIBA_MIN_EXPIRES_IN: '1',
      CIBA_SWEEP_INTERVAL_MS: '200',
    };
    const client = (c: typeof POLL, mode: 'poll' | 'ping') => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: [CIBA],
      scope: 'openid',
      backchannel_token_delivery_mode: mode,
      ...(mode === 'ping' ? { backchannel_client_notification_endpoint: `${receiver.origin}/ping` } : {}),
    });
    await admin(['bootstrap', '--file', await bootstrapFile({ clients: [client(POLL, 'poll'), client(PING, 'ping')], users: [{ sub: 'erin' }] })], env);
    services = serviceProcesses(ALL, peers.ports, env);
    services.notifier = new ServiceProcess('notifier', peers.ports.notifier, { ...env, CIBA_METRICS_PORT: String(notifierMetricsPort) });
    await startServices(services);

    // A ping flow, approved: notified, decided, called back, redeemed.
    const pingToken = randomBytes(16).toString('base64url');
    secrets.push(pingToken);
    const pinged = await bcAuthorize(PING, { binding_message: 'metrics ping', client_notification_token: pingToken });
    await decide('metrics ping', 'SUCCEED');
    await waitFor(() => Promise.resolve(receiver.received.some((r) => r.body['auth_req_id'] === pinged)), { timeoutMs: 15_000, description: 'the ping callback' });
    const tokens = await redeem(PING, pinged);
    expect(tokens.status).toBe(200);
    secrets.push(((await tokens.json()) as { access_token: string }).access_token);

    // A poll flow, denied.
    const denied = await bcAuthorize(POLL, { binding_message: 'metrics deny' });
    await decide('metrics deny', 'UNAUTHORIZED');
    expect(await (await redeem(POLL, denied)).json()).toMatchObject({ error: 'access_denied' });

    // A poll flow nobody answers: it expires.
    await bcAuthorize(POLL, { binding_message: 'metrics expire', requested_expiry: '1' });
    await waitFor(async () => sumSamples(await scrapeMetrics(metricsOrigin('notifier')), 'ciba_flows_finished_total', { outcome: 'expired' }) >= 1, {
      timeoutMs: 15_000,
      description: 'the expiry counted',
    });
    // The audit trail has every lifecycle event of the three flows.
    await waitFor(async () => sumSamples(await scrapeMetrics(services.audit.url), 'ciba_bus_messages_handled_total', { consumer: 'audit', outcome: 'ack' }) >= 8, {
      timeoutMs: 15_000,
      description: 'the audit consumer caught up',
    });

    // A link token in a path, and a path no route has.
    expect((await fetch(`${services.notifier.url}/approve/${'A'.repeat(43)}`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${services.token.url}/no/such/${randomBytes(8).toString('hex')}`)).status).toBe(404);

    for (const name of ALL) {
      const res = await fetch(`${metricsOrigin(name)}/metrics`);
      expect([name, res.status, res.headers.get('content-type')]).toEqual([name, 200, 'text/plain; version=0.0.4; charset=utf-8']);
      const text = await res.text();
      scraped.set(name, { text, samples: parsePrometheusText(text) });
    }
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [receiver, device], db, busPrefix });
  });

  it('every service counts its HTTP requests by route pattern and status, with latency histograms', () => {
    expect(value('authorize', 'ciba_http_requests_total', { method: 'POST', route: '/bc-authorize', status: '200' })).toBe(3);
    expect(value('authorize', 'ciba_http_request_duration_seconds_count', { method: 'POST', route: '/bc-authorize', status: '200' })).toBe(3);
    expect(value('token', 'ciba_http_requests_total', { method: 'POST', route: '/token', status: '200' })).toBe(1);
    expect(value('token', 'ciba_http_requests_total', { method: 'POST', route: '/token', status: '400' })).toBe(1);
    expect(value('notifier', 'ciba_http_requests_total', { method: 'POST', route: '/ext/ciba/auth/callback', status: '200' })).toBe(2);
    // Each was polled on /readyz until it answered 200.
    for (const name of ALL) expect(value(name, 'ciba_http_requests_total', { method: 'GET', route: '/readyz', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('routes are patterns: a link token in the path is never a label, and unknown paths are one series', () => {
    const approve = scraped.get('notifier')!.samples.filter((s) => s.name === 'ciba_http_requests_total' && s.labels['route']?.startsWith('/approve'));
    expect(approve.map((s) => s.labels['route'])).toEqual(['/approve/:token']);
    expect(value('token', 'ciba_http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
    for (const name of ALL) {
      const routes = scraped.get(name)!.samples.filter((s) => s.name === 'ciba_http_requests_total').map((s) => s.labels['route'] ?? '');
      expect(routes.filter((route) => route.includes('AAAA') || route.includes('/no/such'))).toEqual([]);
    }
  });

  it('no metric carries a token, an auth_req_id or a user', () => {
    for (const name of ALL) {
      const { text } = scraped.get(name)!;
      expect([name, secrets.filter((secret) => text.includes(secret)), text.includes('erin')]).toEqual([name, [], false]);
    }
  });

  it('flows started by delivery mode (authorize), and approved, denied and expired with the time to decision (notifier)', () => {
    expect(value('authorize', 'ciba_flows_started_total', { mode: 'ping' })).toBe(1);
    expect(value('authorize', 'ciba_flows_started_total', { mode: 'poll' })).toBe(2);
    expect(value('notifier', 'ciba_flows_finished_total', { outcome: 'approved' })).toBe(1);
    expect(value('notifier', 'ciba_flows_finished_total', { outcome: 'denied', reason: 'UNAUTHORIZED' })).toBe(1);
    expect(value('notifier', 'ciba_flows_finished_total', { outcome: 'expired' })).toBe(1);
    expect(value('notifier', 'ciba_time_to_decision_seconds_count', { outcome: 'approved' })).toBe(1);
    expect(value('notifier', 'ciba_time_to_decision_seconds_count', { outcome: 'denied' })).toBe(1);
  });

  it('channel sends by channel and outcome, with their duration (notifier)', () => {
    expect(value('notifier', 'ciba_channel_sends_total', { channel: 'http', outcome: 'sent' })).toBe(3);
    expect(value('notifier', 'ciba_channel_send_duration_seconds_count', { channel: 'http' })).toBe(3);
  });

  it('callback deliveries by mode and outcome (callback dispatcher)', () => {
    expect(value('callback-dispatcher', 'ciba_callback_attempts_total', { mode: 'ping', outcome: 'delivered' })).toBe(1);
    expect(value('callback-dispatcher', 'ciba_callback_results_total', { mode: 'ping', result: 'delivered' })).toBe(1);
  });

  it('bus messages handled by each consumer of the process, and every consumer’s lag', () => {
    expect(value('notifier', 'ciba_bus_messages_handled_total', { consumer: 'notifier', outcome: 'ack' })).toBe(3);
    expect(value('audit', 'ciba_bus_messages_handled_total', { consumer: 'audit', outcome: 'ack' })).toBeGreaterThanOrEqual(8);
    expect(value('callback-dispatcher', 'ciba_bus_messages_handled_total', { consumer: 'callback-dispatcher', outcome: 'ack' })).toBeGreaterThanOrEqual(1);
    for (const name of ALL) {
      const lag = scraped.get(name)!.samples.filter((s) => s.name === 'ciba_bus_consumer_lag');
      expect([name, new Set(lag.map((s) => s.labels['consumer']))]).toEqual([name, new Set(['notifier', 'audit', 'callback-dispatcher', 'notifier-devices'])]);
    }
  });

  it('the database pool of every service, and Node’s process metrics', () => {
    for (const name of ALL) {
      expect([name, value(name, 'ciba_db_pool_connections', { state: 'max' })]).toEqual([name, 10]);
      expect(value(name, 'ciba_db_pool_connections', { state: 'open' })).toBeGreaterThan(0);
      expect(scraped.get(name)!.samples.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);
    }
  });

  it('with CIBA_METRICS_PORT the metrics leave the service port: /metrics there is not found', async () => {
    expect((await fetch(`${services.notifier.url}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${notifierMetricsPort}/approve/x`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${notifierMetricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('/metrics answers GET only on the service port', async () => {
    const res = await fetch(`${services.token.url}/metrics`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});
