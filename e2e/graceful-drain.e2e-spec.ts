import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type DeviceEmulator, type TestDatabase, waitFor } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-drain', secret: `drain-${randomBytes(6).toString('hex')}` };

/**
 * SIGTERM drains: a stopping service takes no new work, finishes what it has (HTTP requests and bus
 * messages) and exits 0, and what it had not started stays on JetStream for the next replica.
 */
describe('graceful drain on SIGTERM', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let env: Record<string, string>;
  let ports: Record<string, number>;
  let services: Record<'authorize' | 'notifier', ServiceProcess>;
  let replacement: ServiceProcess | null = null;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, ports } = peers);
    await peers.receiver.close();
    env = {
      ...peers.env,
      CIBA_LOG_LEVEL: 'info',
      // Two notifications in flight at a time; the rest wait on JetStream.
      CIBA_BUS_CONCURRENCY: '2',
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_CLIENT_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
    };
    const client = { client_id: CLIENT.id, client_secret: CLIENT.secret, grant_types: ['urn:openid:params:grant-type:ciba'], scope: 'openid', backchannel_token_delivery_mode: 'poll' };
    await admin(['bootstrap', '--file', await bootstrapFile({ clients: [client], users: [{ sub: 'erin', email: 'erin@example.com' }] })], env);
    services = serviceProcesses(['authorize', 'notifier'], ports as never, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: [...Object.values(services ?? {}), replacement], peers: [device], db, busPrefix });
  });

  const bcAuthorize = (binding: string) =>
    fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'erin', binding_message: binding }),
    });

  it('the notifier finishes the notifications in flight, takes no more, exits 0; the next notifier sends the rest, none lost', async () => {
    const release = device.hold();
    const bindings = Array.from({ length: 6 }, (_, i) => `DRAIN ${i + 1}`);
    for (const binding of bindings) expect((await bcAuthorize(binding)).status).toBe(200);
    // Two notifications reach the slow device and wait for its answer.
    await waitFor(() => device.arrived === 2, { description: 'two notifications in flight' });

    const stopped = services.notifier.stop('SIGTERM');
    await waitFor(() => services.notifier.output.includes('shutting down on SIGTERM'), { description: 'the notifier stopping' });
    release();
    expect(await stopped).toBe(0);
    // The two in flight were finished and acknowledged; nothing else was started.
    expect(device.received.map((n) => n.body['binding_message']).sort()).toEqual(bindings.slice(0, 2));
    expect(device.arrived).toBe(2);

    replacement = serviceProcesses(['notifier'], ports as never, env).notifier;
    await replacement.start();
    // Not one request lost with the stopped process: what it had pulled but not started comes back to
    // the next notifier, at once when it was handed back, after the consumer's ack wait (30 s) when it
    // was still on the wire as the process stopped.
    const notified = () => new Set(device.received.map((n) => n.body['binding_message']));
    await waitFor(() => notified().size === bindings.length, { timeoutMs: 45_000, description: 'every request notified' });
    expect([...notified()].sort()).toEqual(bindings);
    // JetStream delivers at least once: a request notified twice carries the same decision token, so the
    // device shows one prompt and the user's answer decides the request once.
    const tokens = new Map<unknown, string | null>();
    for (const notification of device.received) {
      const binding = notification.body['binding_message'];
      if (tokens.has(binding)) expect(notification.decisionToken).toBe(tokens.get(binding));
      else tokens.set(binding, notification.decisionToken);
    }
  }, 90_000);

  it('authorize answers a request that was in flight when SIGTERM came, then exits 0', async () => {
    const url = new URL(`${services.authorize.url}/bc-authorize`);
    const body = new URLSearchParams({ scope: 'openid', login_hint: 'erin', binding_message: 'DRAIN HTTP' }).toString();
    const { request } = await import('node:http');
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      // Half the body now: the request is in flight when the signal comes.
      req.write(body.slice(0, 10));
      void waitFor(() => services.authorize.output.includes('shutting down on SIGTERM'), { description: 'authorize stopping' }).then(() => req.end(body.slice(10)), reject);
    });
    // The request's headers have reached the server before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = services.authorize.stop('SIGTERM');
    const { status, body: text } = await answer;
    expect(status).toBe(200);
    expect(JSON.parse(text)).toHaveProperty('auth_req_id');
    expect(await stopped).toBe(0);
  }, 30_000);
});
