import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { systemClock } from '@ciba/domain';
import { TypeOrmSigningKeyRepository } from '@ciba/persistence';
import type { ClientReceiver, DeviceEmulator, TestDatabase } from '@ciba/testing';
import { KeyEncryptor, KeyStore, PairwiseSubjects } from '@ciba/tokens';
import { type ServiceProcess, admin, bootstrapFile, decideOnDevice, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const secret = () => `e2e-secret-${randomBytes(6).toString('hex')}`;
/** Two pairwise clients, each bound to no host: each a sector of its own. */
const BANK = { id: 'e2e-pairwise-bank', secret: secret() };
const SHOP = { id: 'e2e-pairwise-shop', secret: secret() };
/** A public client: the user's own sub. */
const DESK = { id: 'e2e-public-desk', secret: secret() };

/**
 * OpenID Connect Core §8.1 pairwise subject identifiers across separate service processes, with
 * openid-client v6 as the relying parties: the authorize service resolves pairwise id_token_hints,
 * the token service issues pairwise subs and answers UserInfo for them.
 */
describe('pairwise subject identifiers across separate service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let env: Record<string, string>;
  let pairwise: PairwiseSubjects;
  const configs: Record<string, oidc.Configuration> = {};
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    const pairwiseKey = randomBytes(32).toString('base64url');
    pairwise = new PairwiseSubjects(pairwiseKey);
    env = { ...peers.env, CIBA_PAIRWISE_SUBJECT_KEY: pairwiseKey, CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0', CIBA_DENIAL_BACKOFF_THRESHOLD: '0' };
    const client = (c: { id: string; secret: string }, subjectType: 'public' | 'pairwise') => ({
      client_id: c.id,
      client_secret: c.secret,
      scope: 'openid profile email',
      subject_type: subjectType,
    });
    const file = await bootstrapFile({
      clients: [client(BANK, 'pairwise'), client(SHOP, 'pairwise'), client(DESK, 'public')],
      users: [{ sub: 'alice', name: 'Alice Example', email: 'alice@example.com', email_verified: true }],
    });
    expect(await admin(['migrate'], env)).toMatch(/applied|up to date/);
    expect(await admin(['bootstrap', '--file', file], env)).toContain('clients: 3 written');
    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    await startServices(services);
    for (const c of [BANK, SHOP, DESK]) {
      configs[c.id] = await oidc.discovery(new URL(env['CIBA_ISSUER']), c.id, undefined, oidc.ClientSecretBasic(c.secret), { execute: [oidc.allowInsecureRequests] });
    }
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device, receiver], db, busPrefix });
  });

  /** A poll flow for `hint` (a login_hint or an id_token_hint) that the user approves. */
  const flow = async (clientId: string, hint: { login_hint: string } | { id_token_hint: string }) => {
    const config = configs[clientId];
    const bindingMessage = `E2E pairwise ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid profile email', binding_message: bindingMessage, ...hint });
    await decideOnDevice(device, services.notifier.url, bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  };

  /** An ID token for `clientId` naming `sub`, signed with the provider's own key (read from its database): what only the provider could make. */
  async function providerSignedIdToken(clientId: string, sub: string): Promise<string> {
    const keyStore = new KeyStore({ repository: new TypeOrmSigningKeyRepository(db.dataSource), encryptor: new KeyEncryptor(env['CIBA_KEY_ENCRYPTION_KEY']), clock: systemClock, algs: ['ES256', 'RS256'] });
    await keyStore.init();
    const { kid, alg, key } = keyStore.signingKey();
    return new SignJWT({ auth_time: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(env['CIBA_ISSUER'])
      .setSubject(sub)
      .setAudience(clientId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);
  }

  it('OpenID Connect Discovery §3 advertises subject_types_supported with pairwise', () => {
    expect(configs[BANK.id].serverMetadata().subject_types_supported).toEqual(['public', 'pairwise']);
  });

  it('OpenID Connect Core §8.1 / §17.3 the same user gets three subs: one per pairwise sector, the public client the user’s own', async () => {
    const bank = await flow(BANK.id, { login_hint: 'alice@example.com' });
    const shop = await flow(SHOP.id, { login_hint: 'alice@example.com' });
    const desk = await flow(DESK.id, { login_hint: 'alice@example.com' });
    const subs = [bank.claims()?.sub, shop.claims()?.sub, desk.claims()?.sub];
    expect(subs).toEqual([pairwise.subject(`client:${BANK.id}`, 'alice'), pairwise.subject(`client:${SHOP.id}`, 'alice'), 'alice']);
    expect(new Set(subs).size).toBe(3);
  }, 60_000);

  it('OpenID Connect Core §5.3 UserInfo answers a pairwise access token with the pairwise sub and the user’s claims', async () => {
    const tokens = await flow(BANK.id, { login_hint: 'alice' });
    const sub = pairwise.subject(`client:${BANK.id}`, 'alice');
    // openid-client checks that UserInfo's sub is the ID token's (OpenID Connect Core §5.3.2).
    const info = await oidc.fetchUserInfo(configs[BANK.id], tokens.access_token, sub);
    expect(info).toEqual({ sub, name: 'Alice Example', email: 'alice@example.com', email_verified: true });
  }, 30_000);

  it('CIBA §7.1 / OpenID Connect Core §8.1 the pairwise ID token as id_token_hint starts a new request for the same user', async () => {
    const first = await flow(SHOP.id, { login_hint: 'alice' });
    const again = await flow(SHOP.id, { id_token_hint: first.id_token ?? '' });
    expect(again.claims()?.sub).toBe(first.claims()?.sub);
    const stored = await db.dataSource.query<{ subject: string; hint_type: string }[]>(
      `SELECT subject, hint_type FROM auth_requests WHERE client_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [SHOP.id],
    );
    expect(stored[0]).toEqual({ subject: 'alice', hint_type: 'id_token_hint' });
  }, 60_000);

  it('OpenID Connect Core §17.3 client B sending client A’s pairwise ID token as id_token_hint is refused', async () => {
    const bank = await flow(BANK.id, { login_hint: 'alice' });
    await expect(oidc.initiateBackchannelAuthentication(configs[SHOP.id], { scope: 'openid', id_token_hint: bank.id_token ?? '' })).rejects.toMatchObject({ error: 'invalid_request' });
  }, 30_000);

  it('OpenID Connect Core §17.3 a pairwise sub of another sector does not resolve, even in an ID token the provider signed', async () => {
    // BANK's identifier of alice (issued, recorded), presented inside an ID token for SHOP.
    await flow(BANK.id, { login_hint: 'alice' });
    await flow(SHOP.id, { login_hint: 'alice' });
    const forged = await providerSignedIdToken(SHOP.id, pairwise.subject(`client:${BANK.id}`, 'alice'));
    await expect(oidc.initiateBackchannelAuthentication(configs[SHOP.id], { scope: 'openid', id_token_hint: forged })).rejects.toMatchObject({ error: 'unknown_user_id' });
    // The same token shape with SHOP's own identifier does resolve: the refusal is the sector's, not the signature's.
    const genuine = await providerSignedIdToken(SHOP.id, pairwise.subject(`client:${SHOP.id}`, 'alice'));
    const started = await oidc.initiateBackchannelAuthentication(configs[SHOP.id], { scope: 'openid', id_token_hint: genuine, binding_message: `E2E pw ${randomBytes(2).toString('hex')}` });
    expect(started.auth_req_id).toEqual(expect.any(String));
  }, 60_000);
});
