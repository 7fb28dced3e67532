import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { MIGRATIONS, runMigrations } from '../src/index.js';

describe('schema: migrations and entities agree', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('records every migration in the `migrations` table', async () => {
    const rows: { name: string }[] = await db.dataSource.query('SELECT name FROM migrations ORDER BY id');
    expect(rows.map((row) => row.name)).toEqual(MIGRATIONS.map((migration) => migration.name));
  });

  it('leaves nothing for TypeORM to change after the migrations (empty schema diff)', async () => {
    const diff = await db.dataSource.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('is a no-op to run the migrations again', async () => {
    await expect(runMigrations(db.dataSource)).resolves.toEqual([]);
  });

  it('reverts cleanly and re-applies to the same schema', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await db.dataSource.undoLastMigration({ transaction: 'each' });
    const tables: { table_name: string }[] = await db.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
    );
    expect(tables).toEqual([]);

    await runMigrations(db.dataSource);
    const diff = await db.dataSource.driver.createSchemaBuilder().log();
    expect(diff.upQueries).toEqual([]);
  });
});
