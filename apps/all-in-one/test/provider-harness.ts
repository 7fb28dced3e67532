import { randomBytes, randomUUID } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { type BootstrapData, type ProviderConfig, loadConfig, parseBootstrap } from '@ciba/config';
import { type AuthRequest, acceptedLifecycle } from '@ciba/domain';
import { TypeOrmAuthRequestRepository, TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import { loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { ClientReceiver, DeviceEmulator, SettableClock, type TestDatabase, createTestDatabase, freePort } from '@ciba/testing';
import { KeyEncryptor, SecretHasher } from '@ciba/tokens';
import type { ConfiguredChannels } from '@ciba/channels';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import { type AllInOneOptions, createAllInOneApp } from '../src/all-in-one.js';

export const CIBA = 'urn:openid:params:grant-type:ciba';

/** Clients every HTTP-level test can use; secrets are at least 8 characters as the bootstrap schema requires. */
export const CLIENTS = {
  basic: { id: 'console-basic', secret: 'console-basic-secret', method: 'basic' as const },
  post: { id: 'agent-post', secret: 'agent-post-secret', method: 'post' as const },
  noCiba: { id: 'no-ciba', secret: 'no-ciba-secret-value', method: 'basic' as const },
  ping: { id: 'ping-client', secret: 'ping-client-secret', method: 'basic' as const },
  push: { id: 'push-client', secret: 'push-client-secret', method: 'basic' as const },
};
export type TestClient = (typeof CLIENTS)[keyof typeof CLIENTS];

/** The test clients; ping and push ones notify `receiverOrigin`/cb. */
export function testBootstrap(receiverOrigin: string): BootstrapData {
  return parseBootstrap({
  clients: [
    {
      client_id: CLIENTS.ping.id,
      client_secret: CLIENTS.ping.secret,
      grant_types: [CIBA, 'refresh_token'],
      scope: 'openid profile offline_access',
      backchannel_token_delivery_mode: 'ping',
      backchannel_client_notification_endpoint: `${receiverOrigin}/cb`,
    },
    {
      client_id: CLIENTS.push.id,
      client_secret: CLIENTS.push.secret,
      grant_types: [CIBA, 'refresh_token'],
      scope: 'openid profile email offline_access',
      backchannel_token_delivery_mode: 'push',
      backchannel_client_notification_endpoint: `${receiverOrigin}/cb`,
      authorization_details_types: ['payment_initiation'],
    },
    {
      client_id: CLIENTS.basic.id,
      client_secret: CLIENTS.basic.secret,
      client_name: 'Console (basic)',
      grant_types: [CIBA, 'refresh_token'],
      scope: 'openid profile email phone offline_access',
      // RFC 9396 §10: the only test clients that may send authorization_details.
      authorization_details_types: ['payment_initiation', 'account_information'],
    },
    {
      client_id: CLIENTS.post.id,
      client_secret: CLIENTS.post.secret,
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: [CIBA],
      scope: 'openid profile offline_access',
    },
    { client_id: CLIENTS.noCiba.id, client_secret: CLIENTS.noCiba.secret, grant_types: ['refresh_token'], scope: 'openid' },
  ],
  users: [
    { sub: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: true, phone_number: '+1 555 555 0100', phone_number_verified: true },
    { sub: 'bob', name: 'Bob Example', email: 'bob@example.com' },
  ],
  });
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface TestProvider {
  readonly url: string;
  readonly config: ProviderConfig;
  readonly app: NestExpressApplication;
  readonly db: TestDatabase;
  readonly device: DeviceEmulator;
  /** The ping and push clients' notification endpoint. */
  readonly receiver: ClientReceiver;
  /** The provider's clock: `op.clock.advance(seconds)` to travel in time. */
  readonly clock: SettableClock;
  /** POST a form to `path`, authenticating as `client` with its registered method. */
  form(path: string, params: Record<string, string | string[]>, client?: TestClient | null): Promise<HttpResult>;
  /** A bc-authorize request for alice (or `params`), answered 200. */
  authorize(params?: Record<string, string>, client?: TestClient): Promise<{ authReqId: string; body: Record<string, unknown> }>;
  /** The device answers the notification for `authReqId`'s request. */
  decide(decisionToken: string, status: string): Promise<HttpResult>;
  /** Waits for the device notification of the most recent request for `sub`. */
  notification(predicate?: (body: Record<string, unknown>) => boolean): Promise<{ decisionToken: string; body: Record<string, unknown> }>;
  token(authReqId: string, client?: TestClient): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface TestProviderOptions {
  /** Channel adapters to use instead of the ones `env` configures (`CIBA_EMAIL_VENDOR`, …). */
  readonly channels?: ConfiguredChannels;
  /** A development inbox whose page to mount at /dev/inbox, as the all-in-one start does. */
  readonly devInbox?: AllInOneOptions['devInbox'];
  /** Where the provider's log lines go (they are off unless `CIBA_LOG_LEVEL` is set in `env`). */
  readonly logDestination?: AllInOneOptions['logDestination'];
}

/**
 * The all-in-one composition on a fresh database, with a device emulator as the HTTP authentication
 * channel (pass `CIBA_AUTH_CHANNEL_URI: ''` to turn it off) and the channels `env` configures.
 */
/**
 * What `loadBootstrap` needs to write clients and users into `op`'s database, as the admin
 * `bootstrap` command has them (with the key that seals client_secret_jwt secrets); `overrides`
 * replaces or adds dependencies.
 */
export function bootstrapDeps(op: Pick<TestProvider, 'db' | 'config'>, overrides: Partial<BootstrapDeps> = {}): BootstrapDeps {
  return {
    clients: new TypeOrmClientRepository(op.db.dataSource),
    users: new TypeOrmUserRepository(op.db.dataSource),
    hasher: new SecretHasher(),
    signingAlgs: op.config.keys.signingAlgs,
    endpoints: notificationEndpointPolicy(op.config),
    encryptor: new KeyEncryptor(op.config.keys.encryptionKey),
    ...overrides,
  };
}

type BootstrapDeps = Parameters<typeof loadBootstrap>[1];

export async function startTestProvider(env: Record<string, string> = {}, options: TestProviderOptions = {}): Promise<TestProvider> {
  const db = await createTestDatabase();
  const device = await DeviceEmulator.start();
  const receiver = await ClientReceiver.start();
  // A test that needs its URL before the start (a host name, not 127.0.0.1) chooses the port itself.
  const port = env['CIBA_PORT'] ? Number(env['CIBA_PORT']) : await freePort();
  const fullEnv: Record<string, string> = {
    CIBA_DATABASE_URL: db.url,
    CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CIBA_HOST: '127.0.0.1',
    CIBA_PORT: String(port),
    CIBA_ISSUER: `http://127.0.0.1:${port}`,
    CIBA_AUTH_CHANNEL_URI: device.url,
    CIBA_LOG_LEVEL: 'silent',
    CIBA_POLL_INTERVAL: '2',
    CIBA_MIN_EXPIRES_IN: '1',
    CIBA_SWEEP_INTERVAL_MS: '200',
    // Tests send many requests for alice from one client, and deny some; the prompt limits have their own tests.
    CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
    CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
    // Test clients' endpoints are plain http on loopback: the development setting.
    CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true',
    ...env,
  };
  const config = loadConfig(fullEnv, 'all-in-one', ['database', 'keys']);
  await loadBootstrap(testBootstrap(receiver.origin), bootstrapDeps({ db, config }));
  const clock = new SettableClock();
  const app = await createAllInOneApp(config, { devDevice: false, devInbox: options.devInbox, logDestination: options.logDestination, clock, channels: options.channels ?? channelsFromEnvironment(fullEnv) });
  await app.listen(port, '127.0.0.1');
  const url = config.issuer;

  const form: TestProvider['form'] = async (path, params, client = CLIENTS.basic) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const value of Array.isArray(v) ? v : [v]) body.append(k, value);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client?.method === 'basic') headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
    if (client?.method === 'post') {
      body.append('client_id', client.id);
      body.append('client_secret', client.secret);
    }
    return toResult(await fetch(`${url}${path}`, { method: 'POST', headers, body }));
  };

  const provider: TestProvider = {
    url,
    config,
    app,
    db,
    device,
    receiver,
    clock,
    form,
    async authorize(params = {}, client = CLIENTS.basic) {
      const res = await form('/bc-authorize', { scope: 'openid', login_hint: 'alice', ...params }, client);
      if (res.status !== 200) throw new Error(`bc-authorize answered ${res.status}: ${JSON.stringify(res.body)}`);
      return { authReqId: String(res.body['auth_req_id']), body: res.body };
    },
    async decide(decisionToken, status) {
      return toResult(
        await fetch(`${url}/ext/ciba/auth/callback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${decisionToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ status }),
        }),
      );
    },
    async notification(predicate = () => true) {
      const n = await device.notificationFor((x) => predicate(x.body));
      return { decisionToken: n.decisionToken ?? '', body: n.body };
    },
    token(authReqId, client = CLIENTS.basic) {
      return form('/token', { grant_type: CIBA, auth_req_id: authReqId }, client);
    },
    async close() {
      await app.close();
      await device.close();
      await receiver.close();
      await db.drop();
    },
  };
  return provider;
}

async function toResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** Each test's own binding message, so a test can find its notification among others. */
export function uniqueMessage(label: string): string {
  return `${label} ${randomBytes(3).toString('hex')}`;
}

/**
 * A pending poll request written as bc-authorize writes it, but with no event on the bus (as if the
 * bus had been down): the test hands it on itself. Created now, expiring in five minutes.
 */
export async function storePendingRequest(op: TestProvider, request: Pick<AuthRequest, 'clientId' | 'subject'> & Partial<AuthRequest>): Promise<AuthRequest> {
  const now = op.clock.now();
  const stored: AuthRequest = {
    id: randomUUID(),
    scope: ['openid'],
    acrValues: [],
    bindingMessage: null,
    authorizationDetails: null,
    hintType: 'login_hint',
    deliveryMode: 'poll',
    sealedClientNotificationToken: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 300_000),
    interval: 5,
    correlationId: null,
    traceContext: null,
    ...acceptedLifecycle(),
    ...request,
  };
  await new TypeOrmAuthRequestRepository(op.db.dataSource).create(stored);
  return stored;
}
