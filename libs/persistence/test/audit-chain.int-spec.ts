import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { AUDIT_CHAIN_GENESIS_HASH, TypeOrmAuditChain, TypeOrmAuditRepository, createDataSource, createScratchDatabase } from '../src/index.js';
import type { AuditChainEntry, ScratchDatabase } from '../src/index.js';
import { AuditChain1700002400000 } from '../src/migrations/1700002400000-audit-chain.js';
import { at } from './fixtures.js';

function anEvent(overrides: Partial<AuditRecord> = {}): AuditRecord {
  const requestId = randomUUID();
  return {
    eventId: `${requestId}:auth_request.created`,
    type: 'auth_request.created',
    requestId,
    clientId: 'rp-1',
    subject: 'alice',
    occurredAt: at(1),
    correlationId: 'corr-1',
    // Keys out of order, nesting, numbers and non-ASCII: jsonb reorders and reformats, the hash must not care.
    payload: { version: 1, scope: ['openid', 'profile'], deliveryMode: 'poll', nested: { z: 1.5, a: null, m: 'é ✓' }, interval: 5 },
    ...overrides,
  };
}

async function chainOf(dataSource: DataSource): Promise<AuditChainEntry[]> {
  const entries: AuditChainEntry[] = [];
  for await (const entry of new TypeOrmAuditChain(dataSource).entries(0)) entries.push(entry);
  return entries;
}

/** Every entry follows the previous one: seq 1..n without a gap, each prev_hash the previous hash, each hash recomputable. */
function expectOneChain(entries: readonly AuditChainEntry[]): void {
  let prev = { seq: 0, hash: AUDIT_CHAIN_GENESIS_HASH };
  for (const entry of entries) {
    expect({ seq: entry.seq, prevHash: entry.prevHash, hash: entry.recomputedHash }).toEqual({ seq: prev.seq + 1, prevHash: prev.hash, hash: entry.hash });
    prev = entry;
  }
}

describe('audit hash chain (issue 12 item 3): the append path', () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  const sql = <T>(text: string, parameters: unknown[] = []) => db.dataSource.query<T>(text, parameters);

  it('each appended record gets the next seq and hash = SHA-256(prev_hash || SHA-256(canonical(row)) || seq), recomputable from the stored row; the head follows', async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = $1`, [AUDIT_CHAIN_GENESIS_HASH]);
    const repository = new TypeOrmAuditRepository(db.dataSource);
    await expect(repository.appendMany([anEvent(), anEvent({ deviceId: randomUUID(), requestId: null })])).resolves.toBe(2);
    await expect(repository.append(anEvent({ correlationId: null, payload: {} }))).resolves.toBe(true);

    const entries = await chainOf(db.dataSource);
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expectOneChain(entries);
    expect(entries[0].hash).toMatch(/^[0-9a-f]{64}$/);
    await expect(new TypeOrmAuditChain(db.dataSource).head()).resolves.toEqual({ seq: 3, hash: entries[2].hash, unchainedRows: 0, rowsOutsideChain: 0 });
  });

  it('duplicate events (redeliveries, repeats within a batch) are stored and chained once', async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = $1`, [AUDIT_CHAIN_GENESIS_HASH]);
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const [a, b, c] = [anEvent(), anEvent(), anEvent()];
    await expect(repository.appendMany([a, b, a])).resolves.toBe(2);
    await expect(repository.appendMany([b, { ...a, payload: { changed: true } }, c])).resolves.toBe(1);
    await expect(repository.append(c)).resolves.toBe(false);

    const entries = await chainOf(db.dataSource);
    expect(entries.map((entry) => entry.eventId)).toEqual([a.eventId, b.eventId, c.eventId]);
    expectOneChain(entries);
    expect((await new TypeOrmAuditChain(db.dataSource).head()).seq).toBe(3);
  });

  it('two audit replicas (data sources) appending concurrently, redeliveries among them, keep one gap-free chain', async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = $1`, [AUDIT_CHAIN_GENESIS_HASH]);
    const other = createDataSource({ url: db.url, poolSize: 5 });
    await other.initialize();
    try {
      const events = Array.from({ length: 120 }, () => anEvent());
      const batches = Array.from({ length: 12 }, (_, i) => events.slice(i * 10, i * 10 + 10));
      // Each replica gets every batch (as after a redelivery to the other replica), in its own order.
      const replicaA = new TypeOrmAuditRepository(db.dataSource);
      const replicaB = new TypeOrmAuditRepository(other);
      const stored = await Promise.all([
        ...batches.map((batch) => replicaA.appendMany(batch)),
        ...[...batches].reverse().map((batch) => replicaB.appendMany(batch)),
      ]);
      expect(stored.reduce((sum, n) => sum + n, 0)).toBe(120);

      const entries = await chainOf(db.dataSource);
      expect(entries).toHaveLength(120);
      expect(new Set(entries.map((entry) => entry.eventId)).size).toBe(120);
      expectOneChain(entries);
      await expect(new TypeOrmAuditChain(other).head()).resolves.toMatchObject({ seq: 120, hash: entries[119].hash });
    } finally {
      await other.destroy();
    }
  });

  it('a row inserted around the append path (no seq, a gap, a wrong prev_hash) is refused, and the head stays', async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql(`UPDATE audit_chain_head SET seq = 0, hash = $1`, [AUDIT_CHAIN_GENESIS_HASH]);
    await new TypeOrmAuditRepository(db.dataSource).appendMany([anEvent()]);
    const head = await new TypeOrmAuditChain(db.dataSource).head();
    const insert = (seq: number | null, prevHash: string | null) =>
      sql(`INSERT INTO audit_records (event_id, type, subject, occurred_at, payload, seq, prev_hash, hash) VALUES ($1, 't', 's', now(), '{}', $2, $3, $4)`, [
        randomUUID(),
        seq,
        prevHash,
        'a'.repeat(64),
      ]);
    await expect(insert(null, null)).rejects.toThrow(/consecutive seq, prev_hash and hash/);
    await expect(insert(3, head.hash)).rejects.toThrow(/head moved/);
    await expect(insert(2, 'b'.repeat(64))).rejects.toThrow(/head moved/);
    await expect(new TypeOrmAuditChain(db.dataSource).head()).resolves.toEqual(head);
    expect(await chainOf(db.dataSource)).toHaveLength(1);
  });

  it('rows recorded before the chain began stay unchained (seq null), counted by the migration; the chain starts after them from genesis', async () => {
    const scratch = await createScratchDatabase({ poolSize: 2 });
    try {
      const runner = scratch.dataSource.createQueryRunner();
      try {
        await new AuditChain1700002400000().down(runner);
        for (const event of [anEvent(), anEvent()]) {
          await runner.query(`INSERT INTO audit_records (event_id, type, request_id, client_id, subject, occurred_at, correlation_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
            event.eventId,
            event.type,
            event.requestId,
            event.clientId,
            event.subject,
            event.occurredAt,
            event.correlationId,
            JSON.stringify(event.payload),
          ]);
        }
        await new AuditChain1700002400000().up(runner);
      } finally {
        await runner.release();
      }
      const chain = new TypeOrmAuditChain(scratch.dataSource);
      await expect(chain.head()).resolves.toEqual({ seq: 0, hash: AUDIT_CHAIN_GENESIS_HASH, unchainedRows: 2, rowsOutsideChain: 2 });
      await new TypeOrmAuditRepository(scratch.dataSource).appendMany([anEvent()]);
      const entries = await chainOf(scratch.dataSource);
      expect(entries.map((entry) => entry.seq)).toEqual([1]);
      expectOneChain(entries);
    } finally {
      await scratch.drop();
    }
  });
});
