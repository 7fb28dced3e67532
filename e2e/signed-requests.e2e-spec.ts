import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, SignJWT, exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = 'e2e-signed-requests';
const KID = 'e2e-signing-1';
const USER = { sub: 'erin', name: 'Erin Example', email: 'erin@example.com', email_verified: true };

/**
 * Signed authentication requests (CIBA Core 1.0 §7.1.1) across the separate service processes, the
 * FAPI-CIBA way: a private_key_jwt client registered with backchannel_authentication_request_signing_alg
 * PS256 sends its request as a request object signed with jose, through openid-client v6's
 * initiateBackchannelAuthentication (its JAR helper builds authorization URLs only), and polls the
 * token service for its tokens.
 */
describe('CIBA poll flow with a signed authentication request across service processes (openid-client v6)', () => {
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
    const pair = await generateKeyPair('PS256', { extractable: true });
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: KID, use: 'sig', alg: 'PS256' };
    file = await bootstrapFile({
      clients: [
        {
          client_id: CLIENT,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'PS256',
          jwks: { keys: [publicJwk] },
          backchannel_authentication_request_signing_alg: 'PS256',
          scope: 'openid email',
        },
      ],
      users: [USER],
    });
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 1 written, 0 unchanged');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 0 written, 1 unchanged');
    services = serviceProcesses(['authorize', 'token', 'notifier'], ports, env);
    await startServices(services);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  const configuration = () => oidc.discovery(issuer, CLIENT, undefined, oidc.PrivateKeyJwt(privateKey), { execute: [oidc.allowInsecureRequests] });

  function requestObject(params: Record<string, unknown>, aud = issuer.href.replace(/\/$/, '')): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...params, jti: randomUUID() })
      .setProtectedHeader({ alg: 'PS256', kid: KID })
      .setIssuer(CLIENT)
      .setAudience(aud)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(privateKey);
  }

  it('§4 discovery advertises the algorithms a signed authentication request may use', async () => {
    const metadata = (await configuration()).serverMetadata();
    expect(metadata['backchannel_authentication_request_signing_alg_values_supported']).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
  });

  it('§7.1.1 a full poll flow with a signed request; the parameters beside the request object are ignored', async () => {
    const config = await configuration();
    const bindingMessage = `E2E signed ${randomBytes(3).toString('hex')}`;
    const request = await requestObject({ scope: 'openid email', login_hint: USER.email, binding_message: bindingMessage });
    const started = await oidc.initiateBackchannelAuthentication(config, { request, binding_message: 'ignored', scope: 'openid' });
    const n = await decideOnDevice(device, services.notifier.url, bindingMessage);
    expect(n.body['login_hint']).toBe(USER.sub);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started);
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(tokens.claims()?.aud).toBe(CLIENT);
    expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'openid']);
  }, 45_000);

  it('§7.1.1 the request object may name the backchannel authentication endpoint as its audience', async () => {
    const request = await requestObject({ scope: 'openid', login_hint: USER.email }, `${services.authorize.url}/bc-authorize`);
    await expect(oidc.initiateBackchannelAuthentication(await configuration(), { request })).resolves.toMatchObject({ auth_req_id: expect.any(String) });
  });

  it('§4 an unsigned request from a client registered with backchannel_authentication_request_signing_alg is invalid_request', async () => {
    await expect(oidc.initiateBackchannelAuthentication(await configuration(), { scope: 'openid', login_hint: USER.email })).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: 'this client must send a signed authentication request (the request parameter, alg PS256)',
    });
  });

  it('§7.1.1 a replayed jti is refused', async () => {
    const config = await configuration();
    const request = await requestObject({ scope: 'openid', login_hint: USER.email });
    await oidc.initiateBackchannelAuthentication(config, { request });
    await expect(oidc.initiateBackchannelAuthentication(config, { request })).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: "the request object's jti has already been used",
    });
  });
});
