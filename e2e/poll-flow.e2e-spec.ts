import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { DeviceEmulator, type TestDatabase, createTestDatabase, waitFor, requestIdIn } from '@ciba/testing';
import { ServiceProcess, admin, deploymentEnvironment, serviceProcesses, servicePorts, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-console', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const BOOTSTRAP = {
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      client_name: 'E2E console',
      grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
      scope: 'openid profile email offline_access',
    },
  ],
  users: [{ sub: 'carol', name: 'Carol Example', email: 'carol@example.com', email_verified: true, phone_number: '+15555550199' }],
};

/**
 * Every service as its own OS process on its own port, PostgreSQL and NATS JetStream for real, and
 * openid-client v6 as the relying party: the deployment shape, end to end.
 */
describe('poll mode across separate service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier' | 'audit', ServiceProcess>;
  let config: oidc.Configuration;
  let env: Record<string, string>;
  // Our own streams, consumers and KV bucket, so other deployments on the same NATS never take our work.
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    db = await createTestDatabase();
    device = await DeviceEmulator.start();
    const ports = await servicePorts();
    const issuer = `http://127.0.0.1:${ports.authorize}`;
    env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      CIBA_AUTH_CHANNEL_URI: device.url,
      // Many requests for one user from one client, some denied: the prompt limits have their own tests.
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
      CIBA_LOG_LEVEL: 'debug',
    };
    const dir = await mkdtemp(join(tmpdir(), 'ciba-e2e-'));
    const file = join(dir, 'bootstrap.json');
    await writeFile(file, JSON.stringify(BOOTSTRAP));
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 1 written, 0 unchanged; users: 1 written, 0 unchanged');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 0 written, 1 unchanged; users: 0 written, 1 unchanged');

    services = serviceProcesses(['authorize', 'token', 'notifier', 'audit'], ports, env);
    await startServices(services);

    config = await oidc.discovery(new URL(issuer), CLIENT.id, undefined, oidc.ClientSecretBasic(CLIENT.secret), {
      execute: [oidc.allowInsecureRequests],
    });
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  const approveOnDevice = async (bindingMessage: string, status: 'SUCCEED' | 'UNAUTHORIZED' | 'CANCELLED') => {
    const n = await device.notificationFor((x) => x.body['binding_message'] === bindingMessage, 15_000);
    const res = await fetch(`${services.notifier.url}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${n.decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
    expect(res.status).toBe(200);
    return n;
  };

  it('§4 discovery from the issuer alone advertises every service at its public URL', () => {
    const metadata = config.serverMetadata();
    expect(metadata.backchannel_authentication_endpoint).toBe(`${services.authorize.url}/bc-authorize`);
    expect(metadata.token_endpoint).toBe(`${services.token.url}/token`);
    expect(metadata.backchannel_token_delivery_modes_supported).toContain('poll');
  });

  it('§7–§10.1 completes a poll flow: bc-authorize → device approves → polling yields tokens', async () => {
    const bindingMessage = `E2E approve ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, {
      scope: 'openid email offline_access',
      login_hint: 'carol@example.com',
      binding_message: bindingMessage,
    });
    expect(started.expires_in).toBeGreaterThan(0);
    expect(started.interval).toBe(1);

    const notification = await approveOnDevice(bindingMessage, 'SUCCEED');
    expect(notification.body).toMatchObject({ login_hint: 'carol', is_consent_required: true, client_id: CLIENT.id, scope: 'openid email offline_access' });

    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    const claims = tokens.claims();
    expect(claims?.sub).toBe('carol');
    expect(claims?.['email']).toBe('carol@example.com');
    expect(claims?.['urn:openid:params:jwt:claim:auth_req_id']).toBe(started.auth_req_id);
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  }, 30_000);

  it('§11 a denial on the device surfaces as access_denied to the relying party', async () => {
    const bindingMessage = `E2E deny ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'carol', binding_message: bindingMessage });
    await approveOnDevice(bindingMessage, 'UNAUTHORIZED');
    await expect(oidc.pollBackchannelAuthenticationGrant(config, started)).rejects.toMatchObject({ error: 'access_denied' });
  }, 30_000);

  it('the audit service records each lifecycle event of a flow once, through JetStream', async () => {
    const bindingMessage = `E2E audit ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'carol', binding_message: bindingMessage });
    await approveOnDevice(bindingMessage, 'SUCCEED');
    await oidc.pollBackchannelAuthenticationGrant(config, started);
    const id = requestIdIn(started.auth_req_id);
    const expected = ['auth_request.approved', 'auth_request.created', 'auth_request.device_notified', 'auth_request.redeemed'];
    let types: string[] = [];
    await waitFor(async () => {
      const rows = await db.dataSource.query<{ type: string }[]>('SELECT type FROM audit_records WHERE request_id = $1 ORDER BY type', [id]);
      types = rows.map((r) => r.type);
      return types.length >= expected.length;
    });
    expect(types).toEqual(expected);
  }, 30_000);

  it('a request accepted while the notifier is down reaches the device once it is back (JetStream keeps the work)', async () => {
    await services.notifier.stop('SIGKILL');
    const bindingMessage = `E2E durable ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'carol', binding_message: bindingMessage });
    await services.notifier.start();
    await approveOnDevice(bindingMessage, 'SUCCEED');
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(tokens.claims()?.sub).toBe('carol');
  }, 45_000);

  it('the admin CLI rotates the signing key of every algorithm: the old keys stay published and keep signing until the new ones are active', async () => {
    const before = (await (await fetch(`${services.authorize.url}/jwks`)).json()) as { keys: { kid: string; alg: string }[] };
    expect(before.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const rotated = await admin(['keys', 'rotate'], env);
    expect(rotated).toMatch(/new signing key \S+ \(ES256\), published now, signing from /);
    expect(rotated).toMatch(/new signing key \S+ \(RS256\), published now, signing from /);
    const listed = (await admin(['keys', 'list'], env)).trim().split('\n');
    expect(listed.filter((l) => l.includes(' active'))).toHaveLength(2);
    expect(listed.filter((l) => l.includes('retired'))).toHaveLength(2);

    const bindingMessage = `E2E rotate ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'carol', binding_message: bindingMessage });
    await approveOnDevice(bindingMessage, 'SUCCEED');
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    const [header] = tokens.id_token!.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8')).kid).toBe(before.keys.find((k) => k.alg === 'ES256')?.kid);
  }, 30_000);

  it('carries the caller\'s correlation id from HTTP through NATS into the audit records', async () => {
    const correlationId = `e2e-corr-${randomBytes(4).toString('hex')}`;
    const res = await fetch(`${services.authorize.url}/bc-authorize`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        'x-correlation-id': correlationId,
      },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'carol' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe(correlationId);
    await waitFor(async () => {
      const rows = await db.dataSource.query<{ type: string }[]>('SELECT type FROM audit_records WHERE correlation_id = $1', [correlationId]);
      return rows.some((r) => r.type === 'auth_request.device_notified') && rows.some((r) => r.type === 'auth_request.created');
    });
  });

  it('a service refuses to start on invalid configuration, naming the problem (exit 78)', async () => {
    const broken = new ServiceProcess('token', (await servicePorts()).token, { ...env, CIBA_DATABASE_URL: '', CIBA_KEY_ENCRYPTION_KEY: 'too-short' });
    await expect(broken.start()).rejects.toThrow(/exited with 78[\s\S]*CIBA_DATABASE_URL: required[\s\S]*CIBA_KEY_ENCRYPTION_KEY: must decode to exactly 32 bytes/);
  });

  it('the notifier refuses to start with no way to reach users, or an unknown channel vendor (exit 78)', async () => {
    const ports = await servicePorts();
    const silent = new ServiceProcess('notifier', ports.notifier, { ...env, CIBA_AUTH_CHANNEL_URI: '' });
    await expect(silent.start()).rejects.toThrow(/exited with 78[\s\S]*no way to reach users/);
    const unknown = new ServiceProcess('notifier', ports.notifier, { ...env, CIBA_SMS_VENDOR: 'carrier-pigeon' });
    await expect(unknown.start()).rejects.toThrow(/exited with 78[\s\S]*CIBA_SMS_VENDOR: unknown vendor "carrier-pigeon"/);
  }, 60_000);

  it('no secret, token, hint or decision token appears in any service log line', () => {
    const logs = Object.values(services).map((s) => s.output).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    const secrets = [CLIENT.secret, 'carol@example.com', '+15555550199'];
    const decisionTokens = device.received.map((r) => r.decisionToken).filter((t): t is string => t !== null);
    expect(decisionTokens.length).toBeGreaterThan(0);
    for (const secret of [...secrets, ...decisionTokens]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./); // no JWT
    expect(logs).not.toMatch(/E2E (approve|deny|audit|durable|rotate)/); // binding messages
  });

  it('shuts down gracefully on SIGTERM (exit 0)', async () => {
    expect(await services.audit.stop('SIGTERM')).toBe(0);
  });
});
