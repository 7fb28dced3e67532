import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JSONWebKeySet } from 'jose';
import { type ClientReceiver, type DeviceEmulator, type TestDatabase, freePort, scrapeMetrics, sumSamples, waitFor } from '@ciba/testing';
import { ServiceProcess, admin, deploymentPeers, tearDownDeployment } from './service-processes.js';

interface StoredKey {
  kid: string;
  alg: string;
  retired: boolean;
}

/**
 * Scheduled signing-key rotation across real processes (OpenID Connect Core §10.1.1): several
 * signing processes (three token replicas and a callback dispatcher) find the keys due at once as
 * they start, and exactly one rotation happens (the PostgreSQL advisory lock, and the decision taken
 * again under it); a restart does not rotate again; the authorize service publishes old and new
 * keys side by side.
 */
describe('signing-key rotation on schedule, across processes (OpenID Connect Core §10.1.1)', () => {
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let device: DeviceEmulator;
  let receiver: ClientReceiver;
  let env: Record<string, string>;
  let ports: Record<string, number>;
  const processes: ServiceProcess[] = [];

  const stored = async (): Promise<StoredKey[]> =>
    (await db.dataSource.query<{ kid: string; alg: string; retired_at: Date | null }[]>('SELECT kid, alg, retired_at FROM signing_keys ORDER BY created_at, kid')).map((row) => ({
      kid: row.kid,
      alg: row.alg,
      retired: row.retired_at !== null,
    }));
  const started = async (process: ServiceProcess) => {
    processes.push(process);
    await process.start();
    return process;
  };

  beforeAll(async () => {
    ({ db, device, receiver, env, ports } = await deploymentPeers(busPrefix));
    await admin(['streams', 'ensure'], env);
  }, 60_000);
  afterAll(async () => {
    await tearDownDeployment({ processes, peers: [device, receiver], db, busPrefix });
  });

  it('OIDC Core §10.1.1 four signing processes starting past the due time rotate exactly once; a restart does not rotate again', async () => {
    // The first start generates the keys; authorize only verifies, so it never rotates.
    const authorize = await started(new ServiceProcess('authorize', ports['authorize'], env));
    const first = await stored();
    expect(first.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    // The keys as a deployment would hold them 91 days later.
    await db.dataSource.query(`UPDATE signing_keys SET created_at = created_at - interval '91 days'`);

    const signers = [
      new ServiceProcess('token', ports['token'], env),
      new ServiceProcess('token', await freePort(), env, 1),
      new ServiceProcess('token', await freePort(), env, 2),
      new ServiceProcess('callback-dispatcher', ports['callback-dispatcher'], env),
    ];
    await Promise.all(signers.map(started));
    await waitFor(async () => (await stored()).length === 4, { timeoutMs: 15_000, description: 'the rotated keys stored' });

    const keys = await stored();
    expect(keys.filter((key) => key.retired).map((key) => key.kid).sort()).toEqual(first.map((key) => key.kid).sort());
    expect(keys.filter((key) => !key.retired).map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    const rotations = await Promise.all(signers.map(async (process) => sumSamples(await scrapeMetrics(process.url), 'ciba_signing_key_rotations_total')));
    expect(rotations.reduce((a, b) => a + b, 0)).toBe(1);
    const rotatedBy = signers[rotations.indexOf(1)];
    expect(rotatedBy.output).toContain('signing key rotated on schedule');
    for (const key of keys.filter((k) => !k.retired)) expect(rotatedBy.output).toContain(key.kid);

    // A restart finds the new keys young: nothing more.
    await signers[0].stop();
    await signers[0].start();
    expect(await stored()).toHaveLength(4);

    // Authorize, started again, publishes the retired keys beside the new ones (the new sign after two minutes).
    await authorize.stop();
    await authorize.start();
    const jwks = (await (await fetch(`${authorize.url}/jwks`)).json()) as JSONWebKeySet;
    expect(jwks.keys.map((key) => key.kid).sort()).toEqual(keys.map((key) => key.kid).sort());
    const listed = await admin(['keys', 'list'], env);
    for (const key of keys) expect(listed).toContain(key.kid);
    expect(listed).toMatch(/unpublish after/);
  }, 120_000);
});
