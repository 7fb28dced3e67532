import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { PostgresClientAssertionJtis, createDataSource, createScratchDatabase, type ScratchDatabase } from '../src/index.js';

const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000);

describe('request object jti store: CIBA §7.1.1 single use across replicas', () => {
  let db: ScratchDatabase;
  let second: DataSource;
  let replicaA: PostgresClientAssertionJtis;
  let replicaB: PostgresClientAssertionJtis;

  beforeAll(async () => {
    db = await createScratchDatabase();
    second = await createDataSource({ url: db.url, poolSize: 10 }).initialize();
    replicaA = new PostgresClientAssertionJtis(db.dataSource, 'request_object');
    replicaB = new PostgresClientAssertionJtis(second, 'request_object');
  }, 60_000);
  afterAll(async () => {
    await second?.destroy();
    await db?.drop();
  });

  it('§7.1.1 a replayed jti is refused on another replica', async () => {
    expect(await replicaA.claim('rp-1', 'jti-1', inMinutes(5))).toBe(true);
    expect(await replicaB.claim('rp-1', 'jti-1', inMinutes(5))).toBe(false);
  });

  it('§7.1.1 of many concurrent claims of one jti on two data sources exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? replicaA : replicaB).claim('rp-1', 'raced', inMinutes(5))));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('§7.1.1 request objects and client assertions keep their jtis apart in the one table', async () => {
    const assertions = new PostgresClientAssertionJtis(db.dataSource);
    expect(await assertions.claim('rp-1', 'both-uses', inMinutes(5))).toBe(true);
    expect(await replicaA.claim('rp-1', 'both-uses', inMinutes(5))).toBe(true);
    expect(await replicaB.claim('rp-1', 'both-uses', inMinutes(5))).toBe(false);
    expect(await assertions.claim('rp-1', 'both-uses', inMinutes(5))).toBe(false);
    const rows: { n: string }[] = await db.dataSource.query(`SELECT count(*) AS n FROM client_assertion_jtis WHERE client_id = 'rp-1'`);
    expect(Number(rows[0].n)).toBe(4);
  });
});
