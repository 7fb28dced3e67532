import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = 'e2e-fapi-ciba';
const USER = { sub: 'dana', name: 'Dana Example', email: 'dana@example.com', email_verified: true };

/**
 * The fapi-ciba client profile (FAPI-CIBA on FAPI 1.0 Advanced) across the separate service
 * processes, with openid-client v6: private_key_jwt in PS256, authentication requests signed in
 * PS256, a binding message, DPoP-bound access tokens and PS256 ID tokens; and the refusals of each
 * rule the profile adds at run time.
 */
describe('FAPI-CIBA client profile: a full poll flow across service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let config: oidc.Configuration;
  let issuer: string;
  let privateKey: CryptoKey;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await flowDeployment(busPrefix, { CIBA_SIGNING_ALGS: 'ES256 PS256 RS256' });
    ({ db, device } = peers);
    const { env } = peers;
    const pair = await generateKeyPair('PS256', { extractable: true });
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'fapi-1', use: 'sig', alg: 'PS256' };
    const file = await bootstrapFile({
      clients: [
        {
          client_id: CLIENT,
          client_profile: 'fapi-ciba',
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'PS256',
          jwks: { keys: [publicJwk] },
          backchannel_authentication_request_signing_alg: 'PS256',
          id_token_signed_response_alg: 'PS256',
          dpop_bound_access_tokens: true,
          scope: 'openid email',
        },
      ],
      users: [USER],
    });
    expect(await admin(['migrate'], env)).toContain('up to date');
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 1 written');
    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    await startServices(services);
    issuer = env['CIBA_ISSUER'];
    config = await oidc.discovery(new URL(issuer), CLIENT, undefined, oidc.PrivateKeyJwt(privateKey), { execute: [oidc.allowInsecureRequests] });
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  /** CIBA §7.1.1: the request as a PS256 request object. */
  function requestObject(params: Record<string, string>): Promise<string> {
    return new SignJWT({ ...params, jti: randomUUID() })
      .setProtectedHeader({ alg: 'PS256', kid: 'fapi-1' })
      .setIssuer(CLIENT)
      .setAudience(issuer)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(privateKey);
  }

  it('FAPI-CIBA §5.2.2 a full poll flow: private_key_jwt PS256, signed request, binding message, DPoP-bound access token, PS256 ID token', async () => {
    const bindingMessage = `FAPI ${randomBytes(3).toString('hex')}`;
    const request = await requestObject({ scope: 'openid email', login_hint: USER.email, binding_message: bindingMessage });
    const started = await oidc.initiateBackchannelAuthentication(config, { request });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keyPair);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token)['cnf']).toEqual({ jkt: expect.any(String) });
    expect(decodeProtectedHeader(tokens.id_token ?? '').alg).toBe('PS256');
    expect(tokens.claims()?.sub).toBe(USER.sub);
    expect(await oidc.fetchUserInfo(config, tokens.access_token, USER.sub, { DPoP })).toMatchObject({ sub: USER.sub, email: USER.email });
  }, 60_000);

  it('FAPI-CIBA §5.2.2 a request without binding_message is invalid_request', async () => {
    const request = await requestObject({ scope: 'openid', login_hint: USER.email });
    await expect(oidc.initiateBackchannelAuthentication(config, { request })).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: 'binding_message is required for this client (FAPI-CIBA profile)',
    });
  });

  it('FAPI-CIBA §5.2.2 an unsigned request is invalid_request', async () => {
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: USER.email, binding_message: 'unsigned' })).rejects.toMatchObject({
      error: 'invalid_request',
    });
  });

  it('FAPI 1.0 Advanced §5.2.2 a token request without a DPoP proof gets no token, the approved request stays redeemable with one', async () => {
    const bindingMessage = `FAPI ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { request: await requestObject({ scope: 'openid', login_hint: USER.email, binding_message: bindingMessage }) });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    await expect(oidc.pollBackchannelAuthenticationGrant(config, started)).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
    const DPoP = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
  }, 60_000);

  it('FAPI 1.0 Advanced §8.6 a client assertion in another algorithm than the registered PS256 is invalid_client', async () => {
    const rs256 = await generateKeyPair('RS256', { extractable: true });
    const wrongAlg = await oidc.discovery(new URL(issuer), CLIENT, undefined, oidc.PrivateKeyJwt(rs256.privateKey), { execute: [oidc.allowInsecureRequests] });
    await expect(
      oidc.initiateBackchannelAuthentication(wrongAlg, { request: await requestObject({ scope: 'openid', login_hint: USER.email, binding_message: 'wrong alg' }) }),
    ).rejects.toMatchObject({ error: 'invalid_client' });
  });
});
