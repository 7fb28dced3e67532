import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { type DeviceEmulator, type TestDatabase, requestIdIn, waitFor } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const POLL = { id: 'e2e-downstream-poll', secret: `poll-${randomBytes(12).toString('hex')}` };
const GATEWAY = { id: 'e2e-downstream-gateway', secret: `gw-${randomBytes(12).toString('hex')}` };

const basic = (client: typeof POLL) => `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

/**
 * Downstream outcome reports across separate service processes on PostgreSQL and NATS JetStream: a
 * gateway reports to the audit process right after the token process answered (the jti is stored by
 * the redemption, not by the audit consumer), and after a refresh; the reports reach the evidence
 * record and the hash-chained trail through the durable bus, and no token is in any row or log.
 */
describe('downstream outcome reports across separate service processes', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier' | 'audit', ServiceProcess>;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const secrets: string[] = [POLL.secret, GATEWAY.secret];

  beforeAll(async () => {
    const peers = await flowDeployment(busPrefix, { CIBA_LOG_LEVEL: 'debug' });
    ({ db, device } = peers);
    const env = peers.env;
    const file = await bootstrapFile({
      clients: [
        { client_id: POLL.id, client_secret: POLL.secret, grant_types: [CIBA, 'refresh_token'], scope: 'openid offline_access' },
        { client_id: GATEWAY.id, client_secret: GATEWAY.secret, grant_types: [], scope: 'ciba:audit.report' },
      ],
      users: [{ sub: 'dora', email: 'dora.downstream@example.com', email_verified: true }],
    });
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);
    services = serviceProcesses(['authorize', 'token', 'notifier', 'audit'], peers.ports, env);
    await startServices(services);
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  async function post(url: string, params: Record<string, string>, client: typeof POLL) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client) },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function report(body: Record<string, unknown>, client = GATEWAY) {
    const res = await fetch(`${services.audit.url}/audit/downstream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(client) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('a report right after the token response, and one after a refresh, reach the record and the trail', async () => {
    const bindingMessage = `downstream ${randomBytes(3).toString('hex')}`;
    const started = await post(`${services.authorize.url}/bc-authorize`, { scope: 'openid offline_access', login_hint: 'dora.downstream@example.com', binding_message: bindingMessage }, POLL);
    expect(started.status).toBe(200);
    const authReqId = String(started.body['auth_req_id']);
    secrets.push(authReqId);
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    let tokens: { status: number; body: Record<string, unknown> } | undefined;
    await waitFor(async () => (tokens = await post(`${services.token.url}/token`, { grant_type: CIBA, auth_req_id: authReqId }, POLL)).status === 200, {
      timeoutMs: 20_000,
      intervalMs: 5_100,
      description: 'the tokens',
    });
    const accessToken = String(tokens!.body['access_token']);
    const refreshToken = String(tokens!.body['refresh_token']);
    secrets.push(accessToken, refreshToken, String(tokens!.body['id_token']));
    const jti = String(decodeJwt(accessToken).jti);

    // At once: another process, no wait for the audit consumer.
    const allowed = await report({ jti, outcome: 'allowed', action: 'POST /payments', resource: 'https://api.example/payments/1' });
    expect(allowed.status).toBe(202);
    const blocked = await report({ jti, outcome: 'blocked', action: 'POST /payments', reason: 'amount above the approved limit' });
    expect(blocked.status).toBe(202);

    const refreshed = await post(`${services.token.url}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken }, POLL);
    expect(refreshed.status).toBe(200);
    secrets.push(String(refreshed.body['access_token']), String(refreshed.body['refresh_token']), String(refreshed.body['id_token']));
    const refreshedJti = String(decodeJwt(String(refreshed.body['access_token'])).jti);
    const afterRefresh = await report({ jti: refreshedJti, outcome: 'allowed', action: 'GET /balance' });
    expect(afterRefresh.status).toBe(202);

    const unknown = await report({ jti: randomBytes(16).toString('base64url'), outcome: 'allowed', action: 'GET /balance' });
    expect(unknown).toEqual({ status: 404, body: { error: 'invalid_token', error_description: expect.any(String) } });
    const relyingParty = await report({ jti, outcome: 'allowed', action: 'GET /balance' }, POLL);
    expect(relyingParty.status).toBe(403);

    const requestId = requestIdIn(authReqId);
    let record: { downstream: { jti: string; outcome: string; reporterClientId: string }[] | null; access_token_jtis: string[] } | undefined;
    await waitFor(
      async () => {
        [record] = await db.dataSource.query<NonNullable<typeof record>[]>('SELECT downstream, access_token_jtis FROM audit_evidence_records WHERE request_id = $1', [requestId]);
        return (record?.downstream?.length ?? 0) === 3 && record.access_token_jtis.length === 2;
      },
      { timeoutMs: 20_000, description: 'the reports in the evidence record' },
    );
    expect(record!.access_token_jtis).toEqual([jti, refreshedJti].sort());
    expect(record!.downstream!.map((d) => `${d.jti === jti ? 'first' : 'refreshed'}:${d.outcome}:${d.reporterClientId}`).sort()).toEqual([
      `first:allowed:${GATEWAY.id}`,
      `first:blocked:${GATEWAY.id}`,
      `refreshed:allowed:${GATEWAY.id}`,
    ]);
    const trail = await db.dataSource.query<{ event_id: string; seq: string | null }[]>(
      `SELECT event_id, seq FROM audit_records WHERE request_id = $1 AND type = 'auth_request.downstream_reported'`,
      [requestId],
    );
    expect(trail.map((row) => row.event_id).sort()).toEqual([allowed.body['event_id'], blocked.body['event_id'], afterRefresh.body['event_id']].sort());
    expect(trail.every((row) => row.seq !== null)).toBe(true);
  }, 90_000);

  it('no token, secret or auth_req_id in any audit row or any process log', async () => {
    const rows = [
      ...(await db.dataSource.query<{ row: string }[]>('SELECT row_to_json(e)::text AS row FROM audit_evidence_records e')),
      ...(await db.dataSource.query<{ row: string }[]>('SELECT row_to_json(a)::text AS row FROM audit_records a')),
      ...(await db.dataSource.query<{ row: string }[]>('SELECT row_to_json(j)::text AS row FROM access_token_jtis j')),
    ].map((r) => r.row);
    const logs = Object.values(services).map((s) => s.output);
    const found = secrets.flatMap((secret, i) => [
      ...(rows.some((row) => row.includes(secret)) ? [`secret #${i} in a row`] : []),
      ...(logs.some((output) => output.includes(secret)) ? [`secret #${i} in a log`] : []),
    ]);
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    expect(found).toEqual([]);
  });
});
