import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, SignJWT, exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const KEY_CLIENT = 'e2e-private-key-jwt';
const SECRET_CLIENT = { id: 'e2e-client-secret-jwt', secret: `e2e-hmac-secret-${randomBytes(16).toString('hex')}` };
const POST_CLIENT = { id: 'e2e-client-secret-post', secret: `e2e-post-secret-${randomBytes(16).toString('hex')}` };
const USER = { sub: 'dana', name: 'Dana Example', email: 'dana@example.com', email_verified: true };

/**
 * Client authentication with signed JWTs (RFC 7523, OpenID Connect Core 1.0 §9) across the separate
 * service processes: openid-client v6 authenticates at bc-authorize (authorize service) and at the
 * token endpoint (token service) with private_key_jwt and with client_secret_jwt; the jti of each
 * assertion is remembered in PostgreSQL, shared by both services.
 */
describe('CIBA poll flow with private_key_jwt, client_secret_jwt and client_secret_post across service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let issuer: URL;
  let privateKey: CryptoKey;
  let file: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const deployment = await flowDeployment(busPrefix);
    ({ db, device, issuer } = deployment);
    const { ports, env } = deployment;
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'e2e-key-1', use: 'sig', alg: 'ES256' };
    file = await bootstrapFile({
      clients: [
        { client_id: KEY_CLIENT, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk] }, scope: 'openid email' },
        { client_id: SECRET_CLIENT.id, client_secret: SECRET_CLIENT.secret, token_endpoint_auth_method: 'client_secret_jwt', scope: 'openid email' },
        { client_id: POST_CLIENT.id, client_secret: POST_CLIENT.secret, token_endpoint_auth_method: 'client_secret_post', scope: 'openid email' },
      ],
      users: [USER],
    });
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 3 written, 0 unchanged');
    // Idempotent: the sealed secret and the key set are kept as they are.
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 0 written, 3 unchanged');
    services = serviceProcesses(['authorize', 'token', 'notifier'], ports, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  async function pollFlow(config: oidc.Configuration): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
    const bindingMessage = `E2E jwt ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid email', login_hint: USER.email, binding_message: bindingMessage });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  }

  it('OpenID Connect Discovery 1.0 §3 advertises both methods and their algorithms', async () => {
    const config = await oidc.discovery(issuer, KEY_CLIENT, undefined, oidc.PrivateKeyJwt(privateKey), { execute: [oidc.allowInsecureRequests] });
    const metadata = config.serverMetadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['private_key_jwt', 'client_secret_jwt']));
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'HS256']));
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).not.toContain('none');
  });

  it('OpenID Connect Core 1.0 §9 private_key_jwt: a full poll flow, authenticated at the authorize and the token service', async () => {
    const config = await oidc.discovery(issuer, KEY_CLIENT, undefined, oidc.PrivateKeyJwt(privateKey), { execute: [oidc.allowInsecureRequests] });
    const tokens = await pollFlow(config);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(tokens.claims()?.aud).toBe(KEY_CLIENT);
  }, 45_000);

  it('OpenID Connect Core 1.0 §9 client_secret_jwt: a full poll flow with an HMAC keyed with the secret', async () => {
    const config = await oidc.discovery(issuer, SECRET_CLIENT.id, undefined, oidc.ClientSecretJwt(SECRET_CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
    const tokens = await pollFlow(config);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(tokens.claims()?.aud).toBe(SECRET_CLIENT.id);
  }, 45_000);

  it('RFC 6749 §2.3.1 client_secret_post: a full poll flow with the secret in the form body', async () => {
    const config = await oidc.discovery(issuer, POST_CLIENT.id, undefined, oidc.ClientSecretPost(POST_CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
    const tokens = await pollFlow(config);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(tokens.claims()?.aud).toBe(POST_CLIENT.id);
    // Registered for client_secret_post: the same secret by HTTP Basic is another method, refused.
    const basic = await oidc.discovery(issuer, POST_CLIENT.id, undefined, oidc.ClientSecretBasic(POST_CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
    // 401 with a Basic challenge (RFC 6749 §5.2: the client tried the Authorization header).
    await expect(oidc.initiateBackchannelAuthentication(basic, { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({
      status: 401,
      cause: [expect.objectContaining({ scheme: 'basic' })],
    });
  }, 45_000);

  it('RFC 7523 §3 (7) an assertion accepted by the authorize service is a replay at the token service (one jti store for every process)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: randomBytes(16).toString('hex') })
      .setProtectedHeader({ alg: 'ES256', kid: 'e2e-key-1' })
      .setIssuer(KEY_CLIENT)
      .setSubject(KEY_CLIENT)
      .setAudience(issuer.href.replace(/\/$/, ''))
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(privateKey);
    const form = (extra: Record<string, string>) =>
      new URLSearchParams({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, ...extra });
    const started = await fetch(`${services.authorize.url}/bc-authorize`, { method: 'POST', body: form({ scope: 'openid', login_hint: USER.email }) });
    expect(started.status).toBe(200);
    const { auth_req_id } = (await started.json()) as { auth_req_id: string };
    const replayed = await fetch(`${services.token.url}/token`, { method: 'POST', body: form({ grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id }) });
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('RFC 7523 §3 a client_secret_jwt client cannot authenticate with a key, nor a private_key_jwt client with a secret', async () => {
    const wrongMethod = await oidc.discovery(issuer, SECRET_CLIENT.id, undefined, oidc.PrivateKeyJwt(privateKey), { execute: [oidc.allowInsecureRequests] });
    await expect(oidc.initiateBackchannelAuthentication(wrongMethod, { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
    const wrongSecret = await oidc.discovery(issuer, KEY_CLIENT, undefined, oidc.ClientSecretJwt(SECRET_CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
    await expect(oidc.initiateBackchannelAuthentication(wrongSecret, { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
