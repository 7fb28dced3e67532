import { randomBytes } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, freePort } from '@ciba/testing';
import { ServiceProcess, admin, bootstrapFile, decideOnDevice, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-hints-console', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
/** A client registered with backchannel_user_code_parameter (CIBA §4). */
const PIN_CLIENT = { id: 'e2e-hints-pin', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const DAVE_CODE = `d-${randomBytes(4).toString('hex')}`;
const DIRECTORY_TOKEN = `dir-${randomBytes(8).toString('hex')}`;
const IDP_ISSUER = 'https://idp.e2e.example';

/** A real HTTP server on 127.0.0.1; `handle` answers each request with its body read. */
async function listen(handle: (req: IncomingMessage, body: string) => { status: number; json?: unknown }): Promise<{ server: Server; origin: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const answer = handle(req, body);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.json === undefined ? '' : JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * CIBA §7.1 hints across separate service processes: login_hint as a tel: URI and as a username
 * (local forms), login_hint through an enterprise directory (a second authorize process of the same
 * deployment configured with one), and login_hint_token from a trusted issuer whose key set is
 * served at its jwks_uri; each ends in tokens polled by openid-client v6.
 */
describe('user hints across separate service processes (CIBA §7.1, §13)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let directoryAuthorize: ServiceProcess;
  let config: oidc.Configuration;
  let directory: Awaited<ReturnType<typeof listen>>;
  let jwks: Awaited<ReturnType<typeof listen>>;
  const directoryRequests: { authorization: string | undefined; body: unknown }[] = [];
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  let idpKey: CryptoKey;
  let strangerKey: CryptoKey;

  beforeAll(async () => {
    const idp = await generateKeyPair('ES256', { extractable: true });
    idpKey = idp.privateKey;
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    const idpJwk: JWK = { ...(await exportJWK(idp.publicKey)), kid: 'idp-e2e', use: 'sig', alg: 'ES256' };
    jwks = await listen(() => ({ status: 200, json: { keys: [idpJwk] } }));
    directory = await listen((req, body) => {
      const parsed = JSON.parse(body) as { login_hint?: string };
      directoryRequests.push({ authorization: req.headers.authorization, body: parsed });
      if (req.headers.authorization !== `Bearer ${DIRECTORY_TOKEN}`) return { status: 401 };
      return parsed.login_hint === 'EMP-0042' ? { status: 200, json: { sub: 'dave' } } : { status: 404, json: { error: 'not_found' } };
    });

    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const env: Record<string, string> = {
      ...peers.env,
      CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
      CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
      CIBA_LOGIN_HINT_TOKEN_ISSUERS: JSON.stringify([{ issuer: IDP_ISSUER, jwks_uri: `${jwks.origin}/jwks`, subject_claim: 'email', audience: true, algorithms: ['ES256'] }]),
    };
    const file = await bootstrapFile({
      clients: [
        { client_id: CLIENT.id, client_secret: CLIENT.secret, scope: 'openid email' },
        { client_id: PIN_CLIENT.id, client_secret: PIN_CLIENT.secret, scope: 'openid', backchannel_user_code_parameter: true },
      ],
      users: [
        { sub: 'alice', email: 'alice@example.com', email_verified: true, phone_number: '+1 555 555 0100', phone_number_verified: true },
        { sub: 'carol', email: 'carol@example.com', email_verified: true, preferred_username: 'carol.k' },
        { sub: 'dave', email: 'dave@example.com', email_verified: true, user_code: DAVE_CODE },
      ],
    });
    expect(await admin(['migrate'], env)).toMatch(/applied|up to date/);
    expect(await admin(['bootstrap', '--file', file], env)).toContain('users: 3 written, 0 unchanged');

    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    // A second authorize process of the same deployment, resolving login_hints through the directory.
    directoryAuthorize = new ServiceProcess(
      'authorize',
      await freePort(),
      { ...env, CIBA_LOGIN_HINT_DIRECTORY_URL: `${directory.origin}/lookup`, CIBA_LOGIN_HINT_DIRECTORY_TOKEN: DIRECTORY_TOKEN, CIBA_LOGIN_HINT_DIRECTORY_TIMEOUT_MS: '1000' },
      1,
    );
    await startServices({ ...services, authorize: [services.authorize, directoryAuthorize] });
    config = await oidc.discovery(new URL(env['CIBA_ISSUER']), CLIENT.id, undefined, oidc.ClientSecretBasic(CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: [...Object.values(services ?? {}), directoryAuthorize], peers: [device, receiver, directory, jwks], db, busPrefix });
  });

  const bindingMessage = () => `E2E hint ${randomBytes(3).toString('hex')}`;

  /** A poll flow started with `params` on the deployment's authorize service, approved on the device. */
  const flow = async (params: Record<string, string>) => {
    const message = bindingMessage();
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid email', binding_message: message, ...params });
    await decideOnDevice(device, services.notifier.url, message);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  };

  /** bc-authorize on the authorize process configured with the directory. */
  const directoryBcAuthorize = (loginHint: string, message = bindingMessage(), client = CLIENT, extra: Record<string, string> = {}) =>
    fetch(`${directoryAuthorize.url}/bc-authorize`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid', login_hint: loginHint, binding_message: message, ...extra }),
    });

  const loginHintToken = (claims: Record<string, unknown>, key: CryptoKey = idpKey) =>
    new SignJWT({ iss: IDP_ISSUER, aud: providerIssuer(), email: 'carol@example.com', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'idp-e2e' }).sign(key);
  const providerIssuer = () => config.serverMetadata().issuer;
  const now = () => Math.floor(Date.now() / 1000);

  it('§7.1 a tel: URI login_hint (RFC 3966) starts a poll flow that ends in tokens for the user with that number', async () => {
    const tokens = await flow({ login_hint: 'tel:+1-555-555-0100' });
    expect(tokens.claims()?.sub).toBe('alice');
  }, 30_000);

  it('§7.1 a username login_hint (preferred_username) starts a poll flow that ends in tokens for that user', async () => {
    const tokens = await flow({ login_hint: 'Carol.K' });
    expect(tokens.claims()?.sub).toBe('carol');
  }, 30_000);

  it('§7.1 a login_hint resolved by the enterprise directory (POST {login_hint, client_id}, bearer) ends in tokens for the sub it answers', async () => {
    const message = bindingMessage();
    const res = await directoryBcAuthorize('EMP-0042', message);
    expect(res.status).toBe(200);
    const started = (await res.json()) as oidc.BackchannelAuthenticationResponse;
    expect(directoryRequests.at(-1)).toEqual({ authorization: `Bearer ${DIRECTORY_TOKEN}`, body: { login_hint: 'EMP-0042', client_id: CLIENT.id } });
    await decideOnDevice(device, services.notifier.url, message);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(tokens.claims()?.sub).toBe('dave');
  }, 30_000);

  it('§13 a login_hint the directory answers 404 for is unknown_user_id', async () => {
    const res = await directoryBcAuthorize('EMP-9999');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'unknown_user_id', error_description: 'the login_hint does not identify a known user' });
  });

  it('§7.1 / §13 a client sending user codes never learns from the directory whether a hint names someone: invalid_user_code', async () => {
    expect((await directoryBcAuthorize('EMP-0042', bindingMessage(), PIN_CLIENT, { user_code: DAVE_CODE })).status).toBe(200);
    const unknown = await directoryBcAuthorize('EMP-9998', bindingMessage(), PIN_CLIENT, { user_code: DAVE_CODE });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe('invalid_user_code');
  });

  it('§7.1 a login_hint_token from a trusted issuer (key set at its jwks_uri) ends in tokens for the user its subject claim names', async () => {
    const tokens = await flow({ login_hint_token: await loginHintToken({ exp: now() + 120 }) });
    expect(tokens.claims()?.sub).toBe('carol');
  }, 30_000);

  it('§13 an expired login_hint_token is expired_login_hint_token', async () => {
    await expect(
      oidc.initiateBackchannelAuthentication(config, { scope: 'openid', binding_message: bindingMessage(), login_hint_token: await loginHintToken({ exp: now() - 600 }) }),
    ).rejects.toMatchObject({ error: 'expired_login_hint_token', status: 400 });
  });

  it('§7.1 a login_hint_token from an issuer that is not configured is invalid_request, the token not echoed', async () => {
    const token = await loginHintToken({ iss: 'https://unknown-idp.example', exp: now() + 120 }, strangerKey);
    const error = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid', binding_message: bindingMessage(), login_hint_token: token }).then(
      () => null,
      (e: unknown) => e as { error: string; error_description: string },
    );
    expect(error).toMatchObject({ error: 'invalid_request', error_description: 'login_hint_token is not from a trusted issuer' });
    expect(JSON.stringify(error)).not.toContain(token);
  });

  it('§7.1 a login_hint_token naming the trusted issuer but signed by another key is invalid_request', async () => {
    await expect(
      oidc.initiateBackchannelAuthentication(config, { scope: 'openid', binding_message: bindingMessage(), login_hint_token: await loginHintToken({ exp: now() + 120 }, strangerKey) }),
    ).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('§13 the directory down is 503 temporarily_unavailable, never unknown_user_id nor a 500', async () => {
    await directory.close();
    const res = await directoryBcAuthorize('EMP-0043');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'the user directory cannot be reached; retry later' });
    expect(directoryAuthorize.output).not.toContain('EMP-0043');
  });
});
