import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { type ScratchDatabase, createDataSource, createScratchDatabase } from '../src/index.js';
import { queryRows } from '../src/sql.js';

/**
 * Statements on the pool are prepared: PostgreSQL parses and plans each once per connection. One
 * connection here, so the session's `pg_prepared_statements` is the pool's.
 */
describe('prepared statements on the pool', () => {
  let db: ScratchDatabase;
  /** A pool of one connection on the scratch database. */
  let one: DataSource;
  beforeAll(async () => {
    db = await createScratchDatabase();
    await db.dataSource.query('CREATE TABLE prepared_probe (id int PRIMARY KEY, label text)');
    await db.dataSource.query(`INSERT INTO prepared_probe VALUES (1, 'one')`);
    one = createDataSource({ url: db.url, poolSize: 1 });
    await one.initialize();
  });
  afterAll(async () => {
    await one?.destroy();
    await db?.drop();
  });

  const prepared = async () =>
    queryRows<{ statement: string; calls: string }>(one, `SELECT statement, generic_plans + custom_plans AS calls FROM pg_prepared_statements WHERE statement LIKE '%prepared_probe%'`);

  it('a statement run three times is prepared once on its connection and planned from it each time', async () => {
    for (let i = 0; i < 3; i++) expect(await queryRows(one, 'SELECT label FROM prepared_probe WHERE id = $1', [1])).toEqual([{ label: 'one' }]);
    const statements = (await prepared()).filter((s) => s.statement === 'SELECT label FROM prepared_probe WHERE id = $1');
    expect(statements).toHaveLength(1);
    expect(Number(statements[0].calls)).toBe(3);
  });

  it('a schema change under a prepared SELECT * (a migration during a rolling upgrade) is survived: the statement is prepared afresh', async () => {
    const all = 'SELECT * FROM prepared_probe WHERE id = $1';
    expect(await queryRows(one, all, [1])).toEqual([{ id: 1, label: 'one' }]);
    await db.dataSource.query(`ALTER TABLE prepared_probe ADD COLUMN extra text NOT NULL DEFAULT 'x'`);
    expect(await queryRows(one, all, [1])).toEqual([{ id: 1, label: 'one', extra: 'x' }]);
  });

  it('a generic plan made while its table was empty is made again once the connection has done more work (the table has grown)', async () => {
    await db.dataSource.query('CREATE TABLE growing_probe (id int PRIMARY KEY, category int NOT NULL, label text)');
    await db.dataSource.query('CREATE INDEX ix_growing_probe_category ON growing_probe (category)');
    await db.dataSource.query('ANALYZE growing_probe');
    const byCategory = 'SELECT label FROM growing_probe WHERE category = $1';
    // Past PostgreSQL's five custom plans: the generic plan, made for an empty table, is a sequential scan.
    for (let i = 0; i < 8; i++) await queryRows(one, byCategory, [1]);
    const [{ name }] = await queryRows<{ name: string }>(one, 'SELECT name FROM pg_prepared_statements WHERE statement = $1', [byCategory]);
    const plan = async () => (await one.query<{ 'QUERY PLAN': string }[]>(`EXPLAIN EXECUTE ${name}(1)`)).map((line) => line['QUERY PLAN']).join('\n');
    expect(await plan()).toMatch(/Seq Scan on growing_probe/);

    await db.dataSource.query(`INSERT INTO growing_probe SELECT i, i % 1000, 'x' FROM generate_series(1, 100000) AS i`);
    expect(await plan()).toMatch(/Seq Scan on growing_probe/);
    for (let i = 0; i < 200; i++) await queryRows(one, byCategory, [1]);
    expect(await plan()).toMatch(/Index Scan on ix_growing_probe_category|Bitmap Index Scan on ix_growing_probe_category/);
    // Still one prepared statement for the text: plans were dropped, not statements.
    expect(await queryRows(one, 'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1', [byCategory])).toEqual([{ n: 1 }]);
  });
});
