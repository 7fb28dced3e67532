import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, waitFor, requestIdIn } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const PING = { id: 'e2e-ping', secret: `ping-${randomBytes(6).toString('hex')}` };
const PUSH = { id: 'e2e-push', secret: `push-${randomBytes(6).toString('hex')}` };
const CIBA = 'urn:openid:params:grant-type:ciba';

/**
 * Ping (openid-client v6 as the relying party) and push (a plain HTTP client) across separate
 * service processes, with the callback dispatcher as its own process on JetStream.
 */
describe('ping and push across separate service processes', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'token' | 'notifier' | 'callback-dispatcher', ServiceProcess>;
  let ping: oidc.Configuration;
  let env: Record<string, string>;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const { ports } = peers;
    env = {
      ...peers.env,
      // Many requests for one user from one client, some denied: the prompt limits have their own tests.
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
      // A dispatcher that dies mid-delivery hands the message on after 2 s; its attempt's lease (connect
      // + response timeout + 2 s) runs out after 6 s, and the callback is sent again.
      CIBA_CALLBACK_ACK_WAIT_MS: '2000',
      CIBA_CALLBACK_CONNECT_TIMEOUT_MS: '1000',
      CIBA_CALLBACK_RESPONSE_TIMEOUT_MS: '3000',
      CIBA_CALLBACK_MAX_ATTEMPTS: '2',
    };
    const client = (c: typeof PING, mode: 'ping' | 'push') => ({
      client_id: c.id,
      client_secret: c.secret,
      grant_types: [CIBA, 'refresh_token'],
      scope: 'openid offline_access',
      backchannel_token_delivery_mode: mode,
      backchannel_client_notification_endpoint: `${receiver.origin}/${mode}`,
    });
    const file = await bootstrapFile({ clients: [client(PING, 'ping'), client(PUSH, 'push')], users: [{ sub: 'dave', email: 'dave@example.com' }] });
    await admin(['bootstrap', '--file', file], env);

    services = serviceProcesses(['authorize', 'token', 'notifier', 'callback-dispatcher'], ports, env);
    await startServices(services);
    ping = await oidc.discovery(new URL(env.CIBA_ISSUER), PING.id, undefined, oidc.ClientSecretBasic(PING.secret), { execute: [oidc.allowInsecureRequests] });
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [receiver, device], db, busPrefix });
  });

  const approve = async (bindingMessage: string) => {
    const n = await device.notificationFor((x) => x.body['binding_message'] === bindingMessage, 15_000);
    const res = await fetch(`${services.notifier.url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${n.decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'SUCCEED' }),
    });
    expect(res.status).toBe(200);
  };

  it('§10.2 ping with openid-client: wait for the notification, then redeem at the token endpoint', async () => {
    const bindingMessage = `E2E ping ${randomBytes(3).toString('hex')}`;
    const token = randomBytes(16).toString('base64url');
    const started = await oidc.initiateBackchannelAuthentication(ping, {
      scope: 'openid offline_access',
      login_hint: 'dave',
      binding_message: bindingMessage,
      client_notification_token: token,
    });
    await approve(bindingMessage);
    const [callback] = await receiver.waitFor(started.auth_req_id);
    expect(callback.path).toBe('/ping');
    expect(callback.headers['authorization']).toBe(`Bearer ${token}`);
    expect(callback.body).toEqual({ auth_req_id: started.auth_req_id });

    const tokens = await oidc.genericGrantRequest(ping, CIBA, { auth_req_id: started.auth_req_id });
    expect(tokens.claims()?.sub).toBe('dave');
    expect(tokens.claims()?.['urn:openid:params:jwt:claim:auth_req_id']).toBe(started.auth_req_id);
  }, 30_000);

  it('§10.3 push with a plain HTTP client: the tokens arrive at the notification endpoint', async () => {
    const bindingMessage = `E2E push ${randomBytes(3).toString('hex')}`;
    const res = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${PUSH.id}:${PUSH.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid offline_access', login_hint: 'dave', binding_message: bindingMessage, client_notification_token: 'push-bearer-1' }),
    });
    const started = (await res.json()) as { auth_req_id: string; interval?: number };
    expect(started).not.toHaveProperty('interval');
    await approve(bindingMessage);
    const [callback] = await receiver.waitFor(started.auth_req_id);
    expect(callback.path).toBe('/push');
    expect(callback.headers['authorization']).toBe('Bearer push-bearer-1');
    expect(callback.body).toMatchObject({ auth_req_id: started.auth_req_id, access_token: expect.any(String), id_token: expect.any(String), refresh_token: expect.any(String) });
  }, 30_000);

  it('a dispatcher killed mid-delivery delivers after it restarts, and only once successfully', async () => {
    receiver.respond({ status: 0, hang: true });
    const bindingMessage = `E2E crash ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(ping, { scope: 'openid', login_hint: 'dave', binding_message: bindingMessage, client_notification_token: 'crash-bearer' });
    await approve(bindingMessage);
    await receiver.waitFor(started.auth_req_id); // in flight, never answered
    await services['callback-dispatcher'].stop('SIGKILL');
    await services['callback-dispatcher'].start();
    const calls = await receiver.waitFor(started.auth_req_id, 2, 20_000);
    expect(calls.map((c) => c.status)).toEqual([0, 204]);
    await waitFor(async () => {
      const rows = await db.dataSource.query<{ status: string }[]>(
        'SELECT d.status FROM callback_deliveries d JOIN auth_requests r ON r.id = d.request_id WHERE r.id = $1',
        [requestIdIn(started.auth_req_id)],
      );
      return rows[0]?.status === 'delivered';
    });
    expect(receiver.for(started.auth_req_id).filter((c) => c.status === 204)).toHaveLength(1);
  }, 45_000);

  it('an operator lists a given-up callback and redelivers it once the endpoint is fixed', async () => {
    receiver.respond({ status: 500, headers: { 'retry-after': '1' } }, { status: 500, headers: { 'retry-after': '1' } });
    const bindingMessage = `E2E redeliver ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(ping, { scope: 'openid', login_hint: 'dave', binding_message: bindingMessage, client_notification_token: 'redeliver-bearer' });
    await approve(bindingMessage);
    await receiver.waitFor(started.auth_req_id, 2, 20_000);
    let listed = '';
    await waitFor(async () => {
      listed = await admin(['callbacks', 'failed'], env);
      return listed.includes('attempts_exhausted');
    });
    const id = listed.split('\n').find((line) => line.includes('attempts_exhausted'))!.split(/\s+/)[0];
    expect(await admin(['callbacks', 'redeliver', id], env)).toContain('handed to the callback dispatcher again');
    const calls = await receiver.waitFor(started.auth_req_id, 3, 20_000);
    expect(calls.map((c) => c.status)).toEqual([500, 500, 204]);
    await expect(admin(['callbacks', 'redeliver', id], env)).rejects.toThrow(/not failed/);
  }, 60_000);

  it('no callback bearer, token or hint appears in any service log line', () => {
    const logs = Object.values(services).map((s) => s.output).join('\n');
    expect(logs).toContain('callback attempt');
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    const secrets = receiver.received.flatMap((r) => [
      text(r.headers['authorization']).replace(/^Bearer /, ''),
      ...['access_token', 'refresh_token', 'id_token', 'auth_req_id'].map((k) => text(r.body[k])),
    ]);
    for (const secret of secrets.filter((x) => x.length > 8)) expect(logs).not.toContain(secret);
    expect(logs).not.toContain('dave@example.com');
  });
});
