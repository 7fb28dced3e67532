import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { type ScratchDatabase, createDataSource, createScratchDatabase } from '../src/index.js';
import { queryRows } from '../src/sql.js';

/** The pool's timeouts and name, against the real PostgreSQL (and a server that never answers). */
describe('database connection options', () => {
  let db: ScratchDatabase;
  const opened: DataSource[] = [];
  beforeAll(async () => {
    db = await createScratchDatabase({ poolSize: 2 });
  });
  afterAll(async () => {
    await Promise.all(opened.filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
    await db?.drop();
  });
  async function open(options: Omit<Parameters<typeof createDataSource>[0], 'url'>, url = db.url): Promise<DataSource> {
    const dataSource = createDataSource({ url, poolSize: 2, ...options });
    opened.push(dataSource);
    await dataSource.initialize();
    return dataSource;
  }

  it('a statement running past the statement timeout is cancelled by PostgreSQL (57014); shorter ones run', async () => {
    const dataSource = await open({ statementTimeoutMs: 200 });
    await expect(queryRows(dataSource, 'SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    await expect(queryRows(dataSource, 'SELECT pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
    // The connection stays usable.
    await expect(queryRows(dataSource, 'SELECT 2 AS two')).resolves.toEqual([{ two: 2 }]);
  });

  it('no statement timeout unless asked (migrations may run long)', async () => {
    const dataSource = await open({});
    await expect(queryRows<{ statement_timeout: string }>(dataSource, 'SHOW statement_timeout')).resolves.toEqual([{ statement_timeout: '0' }]);
  });

  it('each connection carries the service name, for pg_stat_activity', async () => {
    const dataSource = await open({ applicationName: 'ciba-token' });
    await expect(queryRows(dataSource, 'SELECT current_setting($1) AS name', ['application_name'])).resolves.toEqual([{ name: 'ciba-token' }]);
  });

  it('a database that accepts the connection but never answers fails the start after the connect timeout, instead of hanging it', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      await expect(open({ connectTimeoutMs: 300 }, `postgres://nobody@127.0.0.1:${port}/nothing`)).rejects.toThrow(/timeout/i);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
