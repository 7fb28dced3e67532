import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-dpop', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const BOUND = { id: 'e2e-dpop-bound', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const client = (c: typeof CLIENT, extra: Record<string, unknown> = {}) => ({
  client_id: c.id,
  client_secret: c.secret,
  grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
  scope: 'openid profile offline_access',
  ...extra,
});
const BOOTSTRAP = {
  clients: [client(CLIENT), client(BOUND, { dpop_bound_access_tokens: true })],
  users: [{ sub: 'dana', name: 'Dana Example', email: 'dana@example.com', email_verified: true }],
};

/**
 * DPoP (RFC 9449) across separate service processes, with openid-client v6 as the client: a poll
 * flow whose access token is bound to the client's key (nonces fetched and retried as RFC 9449 §8
 * has it), UserInfo with the DPoP scheme, refresh, and the hostile cases: a replayed proof, a proof
 * for another URI or method, a bound token presented as a bearer token.
 */
describe('DPoP sender-constrained access tokens across service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let config: oidc.Configuration;
  let bound: oidc.Configuration;
  let tokenEndpoint: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await flowDeployment(busPrefix);
    ({ db, device } = peers);
    const { env } = peers;
    expect(await admin(['migrate'], env)).toContain('up to date');
    await admin(['bootstrap', '--file', await bootstrapFile(BOOTSTRAP)], env);
    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    await startServices(services);
    const issuer = new URL(env['CIBA_ISSUER']);
    const discover = (c: typeof CLIENT) => oidc.discovery(issuer, c.id, undefined, oidc.ClientSecretBasic(c.secret), { execute: [oidc.allowInsecureRequests] });
    config = await discover(CLIENT);
    bound = await discover(BOUND);
    tokenEndpoint = String(config.serverMetadata().token_endpoint);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  async function approvedRequest(c: oidc.Configuration): Promise<oidc.BackchannelAuthenticationResponse> {
    const bindingMessage = `E2E dpop ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(c, { scope: 'openid profile offline_access', login_hint: 'dana', binding_message: bindingMessage });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return started;
  }

  const basic = (c: typeof CLIENT) => `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`;

  it('RFC 9449 §5.1 discovery advertises dpop_signing_alg_values_supported', () => {
    expect(config.serverMetadata().dpop_signing_alg_values_supported).toEqual(['ES256', 'PS256', 'EdDSA', 'RS256']);
  });

  it('RFC 9449 §5 / §7 a poll flow with DPoP: the access token is bound (cnf.jkt), UserInfo answers with the DPoP scheme, refresh keeps the binding', async () => {
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    const DPoP = oidc.getDPoPHandle(config, keyPair);
    const tokens = await oidc.pollBackchannelAuthenticationGrant(config, await approvedRequest(config), undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(tokens.access_token)['cnf']).toEqual({ jkt });
    expect(await oidc.fetchUserInfo(config, tokens.access_token, 'dana', { DPoP })).toEqual({ sub: 'dana', name: 'Dana Example' });
    // RFC 9449 §7.2: the same token as a bearer token is refused.
    await expect(oidc.fetchUserInfo(config, tokens.access_token, 'dana')).rejects.toMatchObject({
      status: 401,
      cause: expect.arrayContaining([expect.objectContaining({ scheme: 'bearer', parameters: expect.objectContaining({ error: 'invalid_token' }) })]),
    });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '', undefined, { DPoP });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    expect(decodeJwt(refreshed.access_token)['cnf']).toEqual({ jkt });
    // Another key cannot use the token.
    const thief = oidc.getDPoPHandle(config, await oidc.randomDPoPKeyPair('ES256'));
    await expect(oidc.fetchUserInfo(config, refreshed.access_token, 'dana', { DPoP: thief })).rejects.toMatchObject({
      status: 401,
      cause: expect.arrayContaining([expect.objectContaining({ scheme: 'dpop', parameters: expect.objectContaining({ error: 'invalid_dpop_proof' }) })]),
    });
  }, 60_000);

  it('RFC 9449 §5.2 a dpop_bound_access_tokens client without a proof is refused; with one it gets a bound token', async () => {
    const started = await approvedRequest(bound);
    await expect(oidc.pollBackchannelAuthenticationGrant(bound, started)).rejects.toMatchObject({ error: 'invalid_dpop_proof' });
    const DPoP = oidc.getDPoPHandle(bound, await oidc.randomDPoPKeyPair('ES256'));
    const tokens = await oidc.pollBackchannelAuthenticationGrant(bound, started, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
  }, 60_000);

  describe('hostile proofs at the token service', () => {
    const keyPairPromise = oidc.randomDPoPKeyPair('ES256', { extractable: true });

    async function rawProof(claims: Record<string, unknown>): Promise<string> {
      const keyPair = await keyPairPromise;
      return new SignJWT({ jti: randomUUID(), htm: 'POST', htu: tokenEndpoint, iat: Math.floor(Date.now() / 1000), ...claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(keyPair.publicKey) })
        .sign(keyPair.privateKey);
    }

    async function tokenRequest(authReqId: string, dpop: string): Promise<{ status: number; error: unknown; nonce: string | null }> {
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: basic(CLIENT), 'content-type': 'application/x-www-form-urlencoded', DPoP: dpop },
        body: new URLSearchParams({ grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: authReqId }),
      });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, error: body['error'], nonce: res.headers.get('dpop-nonce') };
    }

    it('RFC 9449 §8 missing nonce → use_dpop_nonce with DPoP-Nonce, then the proof with it succeeds; replaying that proof is invalid_dpop_proof', async () => {
      const started = await approvedRequest(config);
      const first = await tokenRequest(started.auth_req_id, await rawProof({}));
      expect(first).toMatchObject({ status: 400, error: 'use_dpop_nonce', nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      const good = await rawProof({ nonce: first.nonce });
      expect((await tokenRequest(started.auth_req_id, good)).status).toBe(200);
      const again = await approvedRequest(config);
      expect(await tokenRequest(again.auth_req_id, good)).toMatchObject({ status: 400, error: 'invalid_dpop_proof' });
    }, 60_000);

    it('RFC 9449 §4.3 (8) (9) a proof for another URI or method is invalid_dpop_proof', async () => {
      const started = await approvedRequest(config);
      const { nonce } = await tokenRequest(started.auth_req_id, await rawProof({}));
      const userinfo = String(config.serverMetadata().userinfo_endpoint);
      for (const claims of [{ htu: userinfo }, { htu: `${config.serverMetadata().issuer}/token` }, { htm: 'GET' }]) {
        expect(await tokenRequest(started.auth_req_id, await rawProof({ nonce, ...claims }))).toMatchObject({ status: 400, error: 'invalid_dpop_proof' });
      }
      // The refused proofs did not use up the grant: a right one still redeems it.
      const ok = await tokenRequest(started.auth_req_id, await rawProof({ nonce }));
      expect(ok.status).toBe(200);
    }, 60_000);

    it('RFC 9449 §7.1 UserInfo: a proof whose ath is another token’s is invalid_dpop_proof', async () => {
      const keyPair = await keyPairPromise;
      const DPoP = oidc.getDPoPHandle(config, keyPair);
      const tokens = await oidc.pollBackchannelAuthenticationGrant(config, await approvedRequest(config), undefined, { DPoP });
      const userinfo = String(config.serverMetadata().userinfo_endpoint);
      const ask = async (nonce?: string | null) =>
        fetch(userinfo, {
          headers: {
            authorization: `DPoP ${tokens.access_token}`,
            DPoP: await rawProof({ htm: 'GET', htu: userinfo, ath: createHash('sha256').update('another-token').digest('base64url'), ...(nonce ? { nonce } : {}) }),
          },
        });
      const first = await ask();
      const res = await ask(first.headers.get('dpop-nonce'));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    }, 60_000);
  });
});
