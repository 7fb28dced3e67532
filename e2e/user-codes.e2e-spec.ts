import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { ClientReceiver, DeviceEmulator, TestDatabase } from '@ciba/testing';
import { type ServiceProcess, admin, adminRun, bootstrapFile, decideOnDevice, deploymentPeers, serviceProcesses, startServices, tearDownDeployment } from './service-processes.js';

const CLIENT = { id: 'e2e-pin-console', secret: `e2e-secret-${randomBytes(6).toString('hex')}` };
const CAROL_CODE = `c-${randomBytes(4).toString('hex')}`;
const DAVE_CODE = `d-${randomBytes(4).toString('hex')}`;
const ERIN_CODE = `e-${randomBytes(4).toString('hex')}`;


/**
 * CIBA §7.1 user codes across separate service processes: provisioned by the bootstrap file and by
 * `ciba-admin users set-code` (the code on stdin), sent by openid-client v6 as `user_code`.
 */
describe('user codes across separate service processes (openid-client v6)', () => {
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let services: Record<'authorize' | 'token' | 'notifier', ServiceProcess>;
  let config: oidc.Configuration;
  let env: Record<string, string>;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const peers = await deploymentPeers(busPrefix);
    ({ db, device, receiver } = peers);
    env = { ...peers.env, CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0', CIBA_DENIAL_BACKOFF_THRESHOLD: '0', CIBA_USER_CODE_ATTEMPT_LIMIT: '2' };
    const file = await bootstrapFile({
      clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, backchannel_user_code_parameter: true, scope: 'openid email' }],
      users: [
        { sub: 'carol', email: 'carol@example.com', email_verified: true, user_code: CAROL_CODE },
        { sub: 'dave', email: 'dave@example.com', email_verified: true },
        { sub: 'erin', email: 'erin@example.com', email_verified: true, user_code: ERIN_CODE },
      ],
    });
    expect(await admin(['migrate'], env)).toMatch(/applied|up to date/);
    expect(await admin(['bootstrap', '--file', file], env)).toContain('users: 3 written, 0 unchanged');
    // Idempotent: the stored hashes already verify the file's codes.
    expect(await admin(['bootstrap', '--file', file], env)).toContain('users: 0 written, 3 unchanged');

    services = serviceProcesses(['authorize', 'token', 'notifier'], peers.ports, env);
    await startServices(services);
    config = await oidc.discovery(new URL(env['CIBA_ISSUER']), CLIENT.id, undefined, oidc.ClientSecretBasic(CLIENT.secret), { execute: [oidc.allowInsecureRequests] });
  }, 120_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), peers: [device, receiver], db, busPrefix });
  });

  const approve = async (bindingMessage: string) => {
    await decideOnDevice(device, services.notifier.url, bindingMessage);
  };

  const flow = async (loginHint: string, userCode: string) => {
    const bindingMessage = `E2E pin ${randomBytes(3).toString('hex')}`;
    const started = await oidc.initiateBackchannelAuthentication(config, { scope: 'openid email', login_hint: loginHint, binding_message: bindingMessage, user_code: userCode });
    await approve(bindingMessage);
    return oidc.pollBackchannelAuthenticationGrant(config, started);
  };

  it('§4 discovery advertises backchannel_user_code_parameter_supported', () => {
    expect(config.serverMetadata().backchannel_user_code_parameter_supported).toBe(true);
  });

  it('§7.1 a code from the bootstrap file starts a poll flow that ends in tokens for the user', async () => {
    const tokens = await flow('carol@example.com', CAROL_CODE);
    expect(tokens.claims()?.sub).toBe('carol');
  }, 30_000);

  it('§7.1 ciba-admin users set-code reads the code from standard input, never argv; the code then starts a flow', async () => {
    const set = await adminRun(['users', 'set-code', 'dave'], env, `${DAVE_CODE}\n`);
    expect(set).toMatchObject({ code: 0, stdout: 'user code of dave set\n', stderr: '' });
    expect(set.stdout + set.stderr).not.toContain(DAVE_CODE);
    const rows = await db.dataSource.query<{ user_code_hash: string }[]>(`SELECT user_code_hash FROM users WHERE sub = 'dave'`);
    expect(rows[0]?.user_code_hash).toMatch(/^scrypt\$/);
    expect(rows[0]?.user_code_hash).not.toContain(DAVE_CODE);
    expect((await flow('dave', DAVE_CODE)).claims()?.sub).toBe('dave');
  }, 30_000);

  it('ciba-admin users set-code refuses an unknown user, an empty input, control characters, and a code given as an argument', async () => {
    expect(await adminRun(['users', 'set-code', 'nobody'], env, 'abcd1234\n')).toMatchObject({ code: 1, stderr: 'no user nobody\n' });
    expect((await adminRun(['users', 'set-code', 'dave'], env, '')).code).toBe(78);
    expect((await adminRun(['users', 'set-code', 'dave'], env, 'ab\u0000cd\n')).code).toBe(78);
    expect((await adminRun(['users', 'set-code', 'dave', DAVE_CODE], env, '')).code).toBe(78);
    // dave's code is unchanged by the refusals.
    expect((await flow('dave', DAVE_CODE)).claims()?.sub).toBe('dave');
  }, 30_000);

  it('§13 missing_user_code and invalid_user_code reach the relying party; after the limit the code is locked', async () => {
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'erin' })).rejects.toMatchObject({ error: 'missing_user_code' });
    for (let i = 0; i < 2; i++) {
      await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'erin', user_code: `wrong-${i}` })).rejects.toMatchObject({ error: 'invalid_user_code' });
    }
    // Locked (CIBA_USER_CODE_ATTEMPT_LIMIT=2): the right code is refused too.
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'erin', user_code: ERIN_CODE })).rejects.toMatchObject({ error: 'invalid_user_code' });
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'nobody@example.com', user_code: 'wrong' })).rejects.toMatchObject({ error: 'invalid_user_code' });
  }, 30_000);

  it('ciba-admin users clear-code removes a code: the user then gets invalid_user_code', async () => {
    expect(await adminRun(['users', 'clear-code', 'carol'], env, '')).toMatchObject({ code: 0, stdout: 'user code of carol cleared\n' });
    await expect(oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'carol', user_code: CAROL_CODE })).rejects.toMatchObject({ error: 'invalid_user_code' });
  }, 30_000);
});
