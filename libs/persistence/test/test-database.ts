import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '../src/index.js';

/**
 * A fresh, migrated database for this lib's own integration tests. Other libs use
 * `createTestDatabase` from @ciba/testing; it cannot be imported here because @ciba/testing depends
 * on this lib and Nx forbids the cycle.
 */
export interface LocalTestDatabase {
  readonly url: string;
  readonly dataSource: DataSource;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<LocalTestDatabase> {
  const adminUrl = process.env['CIBA_TEST_DATABASE_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `ciba_test_${randomBytes(8).toString('hex')}`;
  await admin(adminUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource({ url: url.toString(), poolSize: 20 });
  const drop = async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    await admin(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  try {
    await dataSource.initialize();
    await runMigrations(dataSource);
  } catch (error) {
    await drop();
    throw error;
  }
  return { url: url.toString(), dataSource, drop };
}

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Polls `condition` until true (tests never sleep a fixed time); mirrors `waitFor` in @ciba/testing. */
export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
