import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, requestIdIn, waitFor } from '@ciba/testing';
import { UserHintDigest } from '@ciba/tokens';
import { type ServiceProcess, NO_PROMPT_LIMITS, admin, bootstrapFile, decideOnDevice, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const RP = { id: 'e2e-audit-api-rp', secret: `rp-${randomBytes(12).toString('hex')}` };
const AUDITOR = { id: 'e2e-audit-api-reader', secret: `reader-${randomBytes(12).toString('hex')}` };
const EMAIL = 'audit.api@example.com';

const basic = (client: { id: string; secret: string }) => `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

/**
 * The audit API served by the audit service process itself (authorize, notifier and audit as
 * separate processes on PostgreSQL and NATS JetStream): the evidence record of a real poll flow,
 * found by its auth_req_id and exported as JSON Lines, for a client registered with ciba:audit.read
 * only.
 */
describe('audit API on the audit service process', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'notifier' | 'audit', ServiceProcess>;
  const auditKey = randomBytes(32).toString('base64url');
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const env = { ...peers.env, ...NO_PROMPT_LIMITS, CIBA_AUDIT_HMAC_KEY: auditKey };
    const file = await bootstrapFile({
      clients: [
        { client_id: RP.id, client_secret: RP.secret, grant_types: [CIBA], scope: 'openid email', backchannel_token_delivery_mode: 'poll' },
        { client_id: AUDITOR.id, client_secret: AUDITOR.secret, grant_types: ['refresh_token'], scope: 'openid ciba:audit.read' },
      ],
      users: [{ sub: 'ada', email: EMAIL, email_verified: true }],
    });
    await admin(['migrate'], env);
    await admin(['bootstrap', '--file', file], env);
    services = serviceProcesses(['authorize', 'notifier', 'audit'], peers.ports, env);
    await startServices(services);
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [receiver, device], db, busPrefix });
  });

  it('a ciba:audit.read client finds the record of an approved poll flow by auth_req_id, and exports it as JSON Lines; others are refused', async () => {
    const bindingMessage = `audit api ${randomBytes(3).toString('hex')}`;
    const started = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(RP) },
      body: new URLSearchParams({ scope: 'openid email', login_hint: EMAIL, binding_message: bindingMessage }),
    });
    expect(started.status).toBe(200);
    const authReqId = String(((await started.json()) as Record<string, unknown>)['auth_req_id']);
    await decideOnDevice(device, services.notifier.url, bindingMessage);

    let record: Record<string, unknown> | undefined;
    await waitFor(
      async () => {
        const res = await fetch(`${services.audit.url}/audit/records?${new URLSearchParams({ auth_req_id: authReqId }).toString()}`, { headers: { authorization: basic(AUDITOR) } });
        expect(res.status).toBe(200);
        [record] = ((await res.json()) as { records: Record<string, unknown>[] }).records;
        return record?.['decision'] === 'approved';
      },
      { timeoutMs: 20_000, description: 'the approved record through the audit API' },
    );
    expect(record).toMatchObject({
      request_id: requestIdIn(authReqId),
      client_id: RP.id,
      subject: 'ada',
      user_hint_hash: new UserHintDigest(auditKey).digest('login_hint', EMAIL),
      binding_message: bindingMessage,
      delivery_mode: 'poll',
    });

    const exported = await fetch(`${services.audit.url}/audit/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(AUDITOR) },
      body: new URLSearchParams({ client_id: RP.id, decision: 'approved' }),
    });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ...record, class_uid: 3002, status_id: 1, actor: { app_uid: RP.id } });
    expect(JSON.stringify(lines)).not.toContain(EMAIL);

    const notAuditor = await fetch(`${services.audit.url}/audit/records`, { headers: { authorization: basic(RP) } });
    expect({ status: notAuditor.status, body: await notAuditor.json() }).toEqual({ status: 403, body: { error: 'insufficient_scope', error_description: expect.any(String) } });
    const anonymous = await fetch(`${services.audit.url}/audit/export`);
    expect({ status: anonymous.status, body: await anonymous.json() }).toEqual({ status: 401, body: { error: 'invalid_client', error_description: expect.any(String) } });
  }, 60_000);
});
