import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CIBA = 'urn:openid:params:grant-type:ciba';
const INITIAL_ACCESS_TOKEN = randomBytes(32).toString('base64url');
const BOOTSTRAP_CLIENT = { id: 'e2e-bootstrap-client', secret: `e2e-bootstrap-secret-${randomBytes(8).toString('hex')}` };
const USER = { sub: 'erin', name: 'Erin Example', email: 'erin@example.com', email_verified: true };

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

async function call(url: string, init: { method?: string; token?: string | null; json?: unknown; body?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * Dynamic client registration (RFC 7591) and client management (RFC 7592) across the separate
 * service processes: openid-client v6 registers a client at the authorize service with an initial
 * access token, then runs a poll flow with it (bc-authorize at the authorize service, the grant at
 * the token service); the registration is then read, updated and deleted with its registration
 * access token.
 */
describe('dynamic client registration across service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let issuer: URL;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  const register = (metadata: Partial<oidc.ClientMetadata>, initialAccessToken = INITIAL_ACCESS_TOKEN) =>
    oidc.dynamicClientRegistration(issuer, metadata, undefined, { initialAccessToken, execute: [oidc.allowInsecureRequests] });

  async function pollFlow(config: oidc.Configuration, scope = 'openid email'): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
    const bindingMessage = `E2E dcr ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope, login_hint: USER.email, binding_message: bindingMessage });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  }

  beforeAll(async () => {
    const deployment = await flowDeployment(busPrefix, {
      CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: INITIAL_ACCESS_TOKEN,
    });
    ({ db, device, issuer } = deployment);
    const { ports, env } = deployment;
    const file = await bootstrapFile({ clients: [{ client_id: BOOTSTRAP_CLIENT.id, client_secret: BOOTSTRAP_CLIENT.secret, scope: 'openid email' }], users: [USER] });
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 1 written');
    services = serviceProcesses(['authorize', 'token', 'notifier'], ports, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  it('RFC 8414 §2 discovery advertises the authorize service’s registration_endpoint', async () => {
    const config = await oidc.discovery(issuer, 'anyone', undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
    expect(config.serverMetadata().registration_endpoint).toBe(`${services.authorize.url}/register`);
  });

  it('RFC 7591 §3 registers a client with openid-client, which then runs a full poll flow across the services', async () => {
    const config = await register({ client_name: 'E2E Registered Agent', token_endpoint_auth_method: 'client_secret_post', grant_types: [CIBA], scope: 'openid email' });
    const metadata = config.clientMetadata();
    expect(metadata.client_secret).toEqual(expect.any(String));
    expect(metadata['registration_client_uri']).toBe(`${services.authorize.url}/register/${config.clientMetadata().client_id}`);
    expect(metadata['backchannel_token_delivery_mode']).toBe('poll');
    const tokens = await pollFlow(config);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(tokens.claims()?.aud).toBe(metadata.client_id);
  }, 45_000);

  it('RFC 7591 §3 without the initial access token, or with a wrong one: 401, and openid-client gets no client', async () => {
    // RFC 6750 §3: openid-client reads the refusal from the Bearer challenge.
    await expect(register({ client_name: 'Intruder' }, randomBytes(32).toString('base64url'))).rejects.toMatchObject({
      status: 401,
      cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }],
    });
    const bare = await call(`${services.authorize.url}/register`, { json: { client_name: 'Intruder' } });
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="ciba"');
  });

  it('RFC 7591 §3.1 malformed JSON and an oversized body are 4xx, never 500', async () => {
    const malformed = await call(`${services.authorize.url}/register`, { token: INITIAL_ACCESS_TOKEN, body: '{"client_name":' });
    expect({ status: malformed.status, error: malformed.body['error'] }).toEqual({ status: 400, error: 'invalid_request' });
    const oversized = await call(`${services.authorize.url}/register`, { token: INITIAL_ACCESS_TOKEN, json: { client_name: 'big', padding: 'x'.repeat(80 * 1024) } });
    expect(oversized.status).toBe(413);
  });

  it('RFC 7592 §2.1–§2.3 reads, updates and deletes the registration; another client’s token is 401; a deleted client cannot authenticate', async () => {
    const config = await register({ client_name: 'E2E Managed', token_endpoint_auth_method: 'client_secret_post', grant_types: [CIBA, 'refresh_token'], scope: 'openid email offline_access' });
    const other = (await register({ client_name: 'E2E Other' })).clientMetadata();
    const metadata = config.clientMetadata();
    const uri = metadata['registration_client_uri'] as string;
    const token = metadata['registration_access_token'] as string;

    const read = await call(uri, { method: 'GET', token });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ client_id: metadata.client_id, client_name: 'E2E Managed', token_endpoint_auth_method: 'client_secret_post' });
    expect(read.body).not.toHaveProperty('client_secret');
    const foreign = await call(uri, { method: 'GET', token: other['registration_access_token'] as string });
    expect({ status: foreign.status, error: foreign.body['error'] }).toEqual({ status: 401, error: 'invalid_token' });
    const bootstrap = await call(`${services.authorize.url}/register/${BOOTSTRAP_CLIENT.id}`, { method: 'DELETE', token });
    expect(bootstrap.status).toBe(401);

    const updated = await call(uri, {
      method: 'PUT',
      token,
      json: { client_id: metadata.client_id, client_name: 'E2E Managed v2', token_endpoint_auth_method: 'client_secret_post', grant_types: [CIBA, 'refresh_token'], scope: 'openid email offline_access' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ client_name: 'E2E Managed v2' });
    const hostileUpdate = await call(uri, { method: 'PUT', token, json: { client_id: metadata.client_id, token_endpoint_auth_method: 'client_secret_post', backchannel_token_delivery_mode: 'ping', backchannel_client_notification_endpoint: 'https://127.0.0.1/cb' } });
    expect({ status: hostileUpdate.status, error: hostileUpdate.body['error'] }).toEqual({ status: 400, error: 'invalid_client_metadata' });

    // The updated client still holds its secret: a poll flow with a refresh token.
    const tokens = await pollFlow(config, 'openid email offline_access');
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const deleted = await call(uri, { method: 'DELETE', token });
    expect(deleted.status).toBe(204);
    expect((await call(uri, { method: 'GET', token })).status).toBe(401);
    // The authorize service, which deleted it, refuses its credentials at once.
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
    // Every other process forgets it as the deletion commits (the clients' change feed), though the
    // token service had it cached from the flow above: its credentials are refused there too, and the
    // access token it was issued no longer answers at UserInfo (RFC 7592 §2.3).
    const refreshed = await fetch(`${services.token.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '', client_id: metadata.client_id, client_secret: metadata.client_secret ?? '' }),
    });
    expect(refreshed.status).toBe(401);
    const refusal = (await refreshed.json()) as Record<string, unknown>;
    expect(refusal).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    const userInfo = await fetch(`${services.token.url}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userInfo.status).toBe(401);
    expect(userInfo.headers.get('www-authenticate')).toContain('error="invalid_token"');
  }, 60_000);
});
