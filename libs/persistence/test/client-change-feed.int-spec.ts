import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresClientChangeFeed, TypeOrmClientRepository, createScratchDatabase } from '../src/index.js';
import type { ScratchDatabase } from '../src/index.js';
import { aClient } from './fixtures.js';
import { waitFor } from './wait-for.js';

/**
 * The clients' change feed against a real PostgreSQL: the `clients_changed` trigger (migration
 * 1700002900000) notifies on commit, and a feed of its own connection hears it. This is what lets
 * every process forget a deleted or updated client at once (RFC 7592 §2.2, §2.3).
 */
describe('PostgresClientChangeFeed', () => {
  let db: ScratchDatabase;
  let feed: PostgresClientChangeFeed;
  let clients: TypeOrmClientRepository;
  const heard: (string | null)[] = [];

  beforeAll(async () => {
    db = await createScratchDatabase();
    clients = new TypeOrmClientRepository(db.dataSource);
    feed = new PostgresClientChangeFeed(db.dataSource);
    feed.subscribe((clientId) => heard.push(clientId));
    await feed.listening();
  });
  afterAll(async () => {
    await feed.close();
    await db.drop();
  });

  const drain = () => heard.splice(0, heard.length);

  it('tells its listeners to forget everything once it listens (changes before LISTEN were not heard)', () => {
    expect(drain()).toEqual([null]);
  });

  it('RFC 7592 §2.2 / §2.3 hears a client inserted, updated and deleted, by id, once each commits', async () => {
    const client = aClient();
    await clients.upsert(client);
    await waitFor(() => heard.length >= 1);
    await clients.upsert({ ...client, clientName: 'Renamed' });
    await waitFor(() => heard.length >= 2);
    await db.dataSource.query('DELETE FROM clients WHERE client_id = $1', [client.clientId]);
    await waitFor(() => heard.length >= 3);
    expect(drain()).toEqual([client.clientId, client.clientId, client.clientId]);
  });

  it('hears nothing of a change that rolls back, and a committed transaction only when it commits', async () => {
    const rolledBack = aClient();
    const committed = aClient();
    const runner = db.dataSource.createQueryRunner();
    await runner.startTransaction();
    await runner.query(`INSERT INTO clients (client_id, client_name, client_secret_hash, token_endpoint_auth_method, grant_types, scope, backchannel_token_delivery_mode)
      VALUES ($1, 'x', 'h', 'client_secret_basic', '{urn:openid:params:grant-type:ciba}', '{openid}', 'poll')`, [rolledBack.clientId]);
    await runner.rollbackTransaction();
    await runner.startTransaction();
    await runner.query(`INSERT INTO clients (client_id, client_name, client_secret_hash, token_endpoint_auth_method, grant_types, scope, backchannel_token_delivery_mode)
      VALUES ($1, 'x', 'h', 'client_secret_basic', '{urn:openid:params:grant-type:ciba}', '{openid}', 'poll')`, [committed.clientId]);
    // Until the commit nobody hears of it: a reader could not see the row yet either.
    await clients.findById(committed.clientId);
    expect(heard).toEqual([]);
    await runner.commitTransaction();
    await runner.release();
    await waitFor(() => heard.length >= 1);
    expect(drain()).toEqual([committed.clientId]);
  });

  it('a dropped connection is "forget everything" to its listeners; it reconnects, says so again, and hears later changes', async () => {
    const terminated = await db.dataSource.query<{ ok: boolean }[]>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
    );
    expect(terminated).toEqual([{ ok: true }]);
    // Dropped (null), then listening again (null).
    await waitFor(() => heard.length >= 2);
    expect(drain()).toEqual([null, null]);
    await feed.listening();
    const client = aClient();
    await clients.upsert(client);
    await waitFor(() => heard.length >= 1);
    expect(drain()).toEqual([client.clientId]);
  });

  it('an unsubscribed listener hears nothing more', async () => {
    const late: (string | null)[] = [];
    const stop = feed.subscribe((clientId) => late.push(clientId));
    stop();
    const client = aClient();
    await clients.upsert(client);
    await waitFor(() => heard.length >= 1);
    expect(drain()).toEqual([client.clientId]);
    expect(late).toEqual([]);
  });
});
