import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Pool } from 'pg';
import { PostgresDeferredRequestMarkers, TypeOrmAuthRequestRepository, createScratchDatabase, type ScratchDatabase } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';
import { waitFor } from './wait-for.js';

describe('deferred request markers: many requests’ markers in one statement, behind the caller', () => {
  let db: ScratchDatabase;
  let requests: TypeOrmAuthRequestRepository;
  let clientId: string;
  let statements = 0;

  beforeAll(async () => {
    db = await createScratchDatabase();
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
    clientId = (await registeredClient(db.dataSource)).clientId;
    // Every statement of this data source goes through its pool's query(): count them.
    const pool = (db.dataSource.driver as unknown as { master: Pool }).master;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements++;
      return query(...args);
    };
  });
  afterAll(async () => {
    await db.drop();
  });

  const markers = (delayMs: number, errors: unknown[] = []) =>
    new PostgresDeferredRequestMarkers(db.dataSource, { delayMs, maxBatch: 500, onError: (err) => errors.push(err) });
  async function decidedRequests(n: number) {
    const batch = Array.from({ length: n }, () => anAuthRequest(clientId, { status: 'approved', decidedAt: at(1) }));
    for (const request of batch) await requests.create(request);
    return batch;
  }
  const marks = async (ids: string[]) =>
    db.dataSource.query<{ notified_at: Date | null; outcome_published_at: Date | null }[]>(
      'SELECT notified_at, outcome_published_at FROM auth_requests WHERE id = ANY($1) ORDER BY id',
      [ids],
    );

  it('writes the notified and outcome markers of 50 requests with one statement when flushed, not before', async () => {
    const batch = await decidedRequests(50);
    const deferred = markers(60_000);
    for (const request of batch) {
      deferred.notified(request.id, at(2));
      deferred.outcomePublished(request.id, at(3));
    }
    expect((await marks(batch.map((r) => r.id))).filter((m) => m.notified_at !== null)).toEqual([]);
    const before = statements;
    await deferred.flush();
    expect(statements - before).toBe(1);
    expect(await marks(batch.map((r) => r.id))).toEqual(batch.map(() => ({ notified_at: at(2), outcome_published_at: at(3) })));
  });

  it('keeps the first time a marker was set, as the repository’s own markers do', async () => {
    const [request] = await decidedRequests(1);
    await requests.markNotified(request.id, at(5));
    await requests.markOutcomePublished([request.id], at(6));
    const deferred = markers(60_000);
    deferred.notified(request.id, at(7));
    deferred.outcomePublished(request.id, at(8));
    await deferred.flush();
    expect(await marks([request.id])).toEqual([{ notified_at: at(5), outcome_published_at: at(6) }]);
  });

  it('writes on its own after the delay, and at once once closed (the service is stopping)', async () => {
    const [first, second] = await decidedRequests(2);
    const deferred = markers(20);
    deferred.outcomePublished(first.id, at(2));
    await waitFor(async () => (await marks([first.id]))[0].outcome_published_at !== null);
    await deferred.close();
    deferred.outcomePublished(second.id, at(2));
    await waitFor(async () => (await marks([second.id]))[0].outcome_published_at !== null);
  });

  it('a failed statement is reported and its markers dropped, never thrown at the caller (the sweeper republishes what stays unconfirmed)', async () => {
    const errors: unknown[] = [];
    const deferred = markers(60_000, errors);
    deferred.outcomePublished('not-a-uuid', at(2));
    await deferred.flush();
    expect(errors).toHaveLength(1);
  });
});
