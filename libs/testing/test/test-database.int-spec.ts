import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase } from '../src/index.js';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: process.env['CIBA_TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('createTestDatabase', () => {
  it('creates a fresh, migrated ciba_test_<hex> database and drops it, even with other connections open', async () => {
    const db = await createTestDatabase();
    const name = new URL(db.url).pathname.slice(1);
    expect(name).toMatch(/^ciba_test_[0-9a-f]{16}$/);
    expect(db.dataSource.isInitialized).toBe(true);
    const tables: { table_name: string }[] = await db.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['auth_requests', 'clients', 'migrations', 'queued_messages', 'users']),
    );
    await expect(databaseExists(name)).resolves.toBe(true);

    // A connection the test forgot to close must not keep the database alive (WITH (FORCE)).
    const straggler = new pg.Client({ connectionString: db.url });
    straggler.on('error', () => undefined);
    await straggler.connect();

    await db.drop();
    await db.drop();
    expect(db.dataSource.isInitialized).toBe(false);
    await expect(databaseExists(name)).resolves.toBe(false);
    await straggler.end().catch(() => undefined);
  });

  it('gives each caller its own database', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      expect(a.url).not.toBe(b.url);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});
