import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, flowDeployment, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-lifecycle', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const OTHER = { id: 'e2e-other', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const client = (c: typeof CLIENT) => ({
  client_id: c.id,
  client_secret: c.secret,
  grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
  scope: 'openid profile email offline_access',
});
const BOOTSTRAP = {
  clients: [client(CLIENT), client(OTHER)],
  users: [{ sub: 'dana', name: 'Dana Example', email: 'dana@example.com', email_verified: true, phone_number: '+15555550142' }],
};

/**
 * The token lifecycle across separate service processes, with openid-client v6 as the relying
 * party: a real CIBA flow, then introspection (RFC 7662), UserInfo (OIDC Core §5.3) and revocation
 * (RFC 7009) found through discovery at the token service's public URL.
 */
describe('token lifecycle across separate service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let config: oidc.Configuration;
  let other: oidc.Configuration;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await flowDeployment(busPrefix, { CIBA_LOG_LEVEL: 'debug' });
    ({ db, device } = peers);
    const { env } = peers;
    expect(await admin(['migrate'], env)).toContain('up to date');
    await admin(['bootstrap', '--file', await bootstrapFile(BOOTSTRAP)], env);
    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    await startServices(services);
    const issuer = new URL(env['CIBA_ISSUER']);
    const discover = (c: typeof CLIENT) => oidc.discovery(issuer, c.id, undefined, oidc.ClientSecretBasic(c.secret), { execute: [oidc.allowInsecureRequests] });
    config = await discover(CLIENT);
    other = await discover(OTHER);
  }, 90_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device], db, busPrefix });
  });

  async function cibaTokens(scope: string) {
    const bindingMessage = `E2E lifecycle ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope, login_hint: 'dana', binding_message: bindingMessage });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  }

  it('discovery advertises introspection, revocation and UserInfo at the token service', () => {
    const metadata = config.serverMetadata();
    expect(metadata.introspection_endpoint).toBe(`${services.token.url}/token/introspect`);
    expect(metadata.revocation_endpoint).toBe(`${services.token.url}/token/revoke`);
    expect(metadata.userinfo_endpoint).toBe(`${services.token.url}/userinfo`);
    expect(metadata.introspection_endpoint_auth_methods_supported).toContain('client_secret_basic');
    expect(metadata.revocation_endpoint_auth_methods_supported).toContain('client_secret_basic');
  });

  it('RFC 7662, OIDC Core §5.3 and RFC 7009 after a CIBA flow: introspect, read the user, revoke the grant and an access token', async () => {
    const tokens = await cibaTokens('openid email offline_access');
    const refreshToken = tokens.refresh_token!;

    const access = await oidc.tokenIntrospection(config, tokens.access_token, { token_type_hint: 'access_token' });
    expect(access).toMatchObject({ active: true, client_id: CLIENT.id, sub: 'dana', scope: 'openid email offline_access', token_type: 'Bearer', iss: config.serverMetadata().issuer });
    expect((await oidc.tokenIntrospection(config, refreshToken)).active).toBe(true);
    // RFC 7662 §2.2: another client learns nothing about the tokens.
    expect(await oidc.tokenIntrospection(other, tokens.access_token)).toEqual({ active: false });
    expect(await oidc.tokenIntrospection(other, refreshToken)).toEqual({ active: false });

    expect(await oidc.fetchUserInfo(config, tokens.access_token, 'dana')).toEqual({ sub: 'dana', email: 'dana@example.com', email_verified: true });

    // RFC 7009 §2.2: another client's revocation answers 200 and changes nothing.
    await oidc.tokenRevocation(other, refreshToken);
    const refreshed = await oidc.refreshTokenGrant(config, refreshToken);

    await oidc.tokenRevocation(config, refreshed.refresh_token!);
    expect(await oidc.tokenIntrospection(config, refreshed.refresh_token!)).toEqual({ active: false });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // RFC 7009 §2.1: the grant's access tokens are revoked with it, at the token service's UserInfo too.
    expect(await oidc.tokenIntrospection(config, refreshed.access_token)).toEqual({ active: false });
    await expect(oidc.fetchUserInfo(config, refreshed.access_token, 'dana')).rejects.toMatchObject({ status: 401 });
    // A client revokes one access token of its own.
    const second = await cibaTokens('openid email');
    expect((await oidc.tokenIntrospection(config, second.access_token)).active).toBe(true);
    await oidc.tokenRevocation(config, second.access_token, { token_type_hint: 'access_token' });
    expect(await oidc.tokenIntrospection(config, second.access_token)).toEqual({ active: false });

    for (const service of Object.values(services)) {
      for (const token of [tokens.access_token, refreshToken, refreshed.access_token, refreshed.refresh_token!, second.access_token]) expect(service.output).not.toContain(token);
    }
  }, 30_000);

  it('OIDC Core §5.3.3 UserInfo refuses a forged token with an RFC 6750 challenge', async () => {
    await expect(oidc.fetchUserInfo(config, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJkYW5hIn0.', 'dana')).rejects.toMatchObject({ status: 401 });
    const inQuery = await fetch(`${services.token.url}/userinfo?access_token=x`);
    expect(inQuery.status).toBe(400);
  });
});
