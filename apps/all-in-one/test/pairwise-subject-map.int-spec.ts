import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresPairwiseSubjects } from '@ciba/persistence';
import { type TestDatabase, createTestDatabase } from '@ciba/testing';

/** OpenID Connect Core §8.1: the way back from a pairwise sub, in PostgreSQL (`pairwise_subjects`). */
describe('pairwise subject map', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('OpenID Connect Core §8.1 recording is idempotent and resolves within its sector only', async () => {
    const map = new PostgresPairwiseSubjects(db.dataSource);
    await map.record('table.example', 'pw-1', 'bob');
    await map.record('table.example', 'pw-1', 'bob');
    await new PostgresPairwiseSubjects(db.dataSource).record('table.example', 'pw-1', 'bob');
    const rows = await db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM pairwise_subjects WHERE sector_identifier = 'table.example'`);
    expect(rows[0].n).toBe('1');
    expect(await map.localSubject('table.example', 'pw-1')).toBe('bob');
    expect(await map.localSubject('other.example', 'pw-1')).toBeNull();
    expect(await map.localSubject('table.example', 'pw-2')).toBeNull();
  });

  it('OpenID Connect Core §8.1 concurrent recordings of one mapping (replicas, clients of one sector) all succeed, one row', async () => {
    const writers = Array.from({ length: 16 }, () => new PostgresPairwiseSubjects(db.dataSource));
    await Promise.all(writers.map((writer) => writer.record('race.example', 'pw-race', 'alice')));
    const rows = await db.dataSource.query<{ sub: string }[]>(`SELECT sub FROM pairwise_subjects WHERE sector_identifier = 'race.example'`);
    expect(rows).toEqual([{ sub: 'alice' }]);
  });

  it('OpenID Connect Core §8.1 a process that recorded a mapping does not write it again (issuing to a known user costs no statement)', async () => {
    const map = new PostgresPairwiseSubjects(db.dataSource);
    await map.record('memo.example', 'pw-memo', 'bob');
    // Gone behind the process's back: only a second INSERT would bring it back.
    await db.dataSource.query(`DELETE FROM pairwise_subjects WHERE sector_identifier = 'memo.example'`);
    await map.record('memo.example', 'pw-memo', 'bob');
    expect(await map.localSubject('memo.example', 'pw-memo')).toBeNull();
    await new PostgresPairwiseSubjects(db.dataSource).record('memo.example', 'pw-memo', 'bob');
    expect(await map.localSubject('memo.example', 'pw-memo')).toBe('bob');
  });
});
