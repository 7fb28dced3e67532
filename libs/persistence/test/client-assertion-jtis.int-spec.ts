import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { PostgresClientAssertionJtis, createDataSource, createScratchDatabase, type ScratchDatabase } from '../src/index.js';

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000);

type Namespace = ConstructorParameters<typeof PostgresClientAssertionJtis>[1];

/** One jti store, two uses: client assertions (RFC 7523 §3 (7)) and request objects (CIBA §7.1.1). */
const uses: readonly (readonly [Namespace, string])[] = [
  ['client_assertion', 'RFC 7523 §3 (7)'],
  ['request_object', 'CIBA §7.1.1'],
];

describe.each(uses)('jti store, %s namespace: single use across replicas', (namespace, section) => {
  let db: ScratchDatabase;
  let second: DataSource;
  let replicaA: PostgresClientAssertionJtis;
  let replicaB: PostgresClientAssertionJtis;

  beforeAll(async () => {
    db = await createScratchDatabase();
    second = await createDataSource({ url: db.url, poolSize: 10 }).initialize();
    replicaA = new PostgresClientAssertionJtis(db.dataSource, namespace);
    replicaB = new PostgresClientAssertionJtis(second, namespace);
  }, 60_000);
  afterAll(async () => {
    await second?.destroy();
    await db?.drop();
  });

  it(`${section} accepts a jti once: the same jti from another replica is a replay`, async () => {
    expect(await replicaA.claim('rp-1', 'jti-1', inMinutes(5))).toBe(true);
    expect(await replicaB.claim('rp-1', 'jti-1', inMinutes(5))).toBe(false);
    expect(await replicaA.claim('rp-1', 'jti-1', inMinutes(5))).toBe(false);
  });

  it(`${section} lets exactly one of many concurrent claims of one jti, on two data sources, win`, async () => {
    const claims = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).claim('rp-1', 'raced-jti', inMinutes(5)));
    const results = await Promise.all(claims);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keeps jtis per client: another client may use the same value', async () => {
    expect(await replicaA.claim('rp-2', 'shared-value', inMinutes(5))).toBe(true);
    expect(await replicaB.claim('rp-3', 'shared-value', inMinutes(5))).toBe(true);
  });

  it('forgets a jti once its JWT has expired, and drops expired rows as new ones come', async () => {
    expect(await replicaA.claim('rp-4', 'old-jti', inMinutes(-1))).toBe(true);
    // That JWT can no longer be accepted anywhere (its exp passed), so the value may serve again.
    expect(await replicaB.claim('rp-4', 'old-jti', inMinutes(5))).toBe(true);
    await replicaA.claim('rp-5', 'stale', inMinutes(-1));
    await replicaA.claim('rp-5', 'fresh', inMinutes(5));
    const rows: { n: string }[] = await db.dataSource.query(`SELECT count(*) AS n FROM client_assertion_jtis WHERE expires_at < now()`);
    expect(Number(rows[0].n)).toBe(0);
  });

  it('stores a digest of the jti, not the client text', async () => {
    await replicaA.claim('rp-6', 'visible-jti-text', inMinutes(5));
    const rows: { jti_hash: string }[] = await db.dataSource.query(`SELECT jti_hash FROM client_assertion_jtis WHERE client_id = 'rp-6'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].jti_hash).not.toContain('visible');
  });
});

describe('jti store: namespaces in the one table', () => {
  let db: ScratchDatabase;
  let assertions: PostgresClientAssertionJtis;
  let requestObjects: PostgresClientAssertionJtis;

  beforeAll(async () => {
    db = await createScratchDatabase();
    assertions = new PostgresClientAssertionJtis(db.dataSource, 'client_assertion');
    requestObjects = new PostgresClientAssertionJtis(db.dataSource, 'request_object');
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('CIBA §7.1.1 request objects and client assertions keep their jtis apart', async () => {
    expect(await assertions.claim('rp-1', 'both-uses', inMinutes(5))).toBe(true);
    expect(await requestObjects.claim('rp-1', 'both-uses', inMinutes(5))).toBe(true);
    expect(await requestObjects.claim('rp-1', 'both-uses', inMinutes(5))).toBe(false);
    expect(await assertions.claim('rp-1', 'both-uses', inMinutes(5))).toBe(false);
    const rows: { n: string }[] = await db.dataSource.query(`SELECT count(*) AS n FROM client_assertion_jtis WHERE client_id = 'rp-1'`);
    expect(Number(rows[0].n)).toBe(2);
  });

  it('a client assertion jti spelled like a namespaced one does not use up that request object jti', async () => {
    expect(await assertions.claim('rp-2', 'request_object\u0000jti-x', inMinutes(5))).toBe(true);
    expect(await requestObjects.claim('rp-2', 'jti-x', inMinutes(5))).toBe(true);
    expect(await assertions.claim('rp-2', 'request_object\u0000jti-x', inMinutes(5))).toBe(false);
  });
});
