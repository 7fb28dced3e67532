import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from './data-source.js';

export interface ScratchDatabase {
  /** Connection URL of the fresh database, for services started by the test. */
  readonly url: string;
  /** Initialised and migrated. */
  readonly dataSource: DataSource;
  /** Destroys `dataSource` and drops the database, closing any other connection to it. */
  drop(): Promise<void>;
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A fresh, migrated database `ciba_test_<random hex>` on a real PostgreSQL, one per test file (or per
 * test), so tests never see each other's rows. The admin URL comes from
 * `CIBA_TEST_DATABASE_ADMIN_URL` when set. It lives here, with the migrations it runs, so this lib's
 * own tests and every other lib's (through @ciba/testing) share one implementation.
 */
export async function createScratchDatabase(options: { poolSize?: number } = {}): Promise<ScratchDatabase> {
  const adminUrl = process.env['CIBA_TEST_DATABASE_ADMIN_URL'] ?? DEFAULT_ADMIN_URL;
  const name = `ciba_test_${randomBytes(8).toString('hex')}`;
  await withAdminClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));

  const url = databaseUrl(adminUrl, name);
  const dataSource = createDataSource({ url, poolSize: options.poolSize ?? 20 });
  try {
    await dataSource.initialize();
    await runMigrations(dataSource);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await dropDatabase(adminUrl, name);
    throw error;
  }

  let dropped = false;
  return {
    url,
    dataSource,
    async drop() {
      if (dropped) return;
      dropped = true;
      if (dataSource.isInitialized) await dataSource.destroy();
      await dropDatabase(adminUrl, name);
    },
  };
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withAdminClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

async function withAdminClient<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
