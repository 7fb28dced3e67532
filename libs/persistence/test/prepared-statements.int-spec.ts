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
});
