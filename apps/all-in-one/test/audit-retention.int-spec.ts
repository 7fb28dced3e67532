import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ProviderConfig } from '@ciba/config';
import type { AuditRecord, Clock } from '@ciba/domain';
import { AUDIT_CHAIN_GENESIS_HASH, TypeOrmAuditChain, TypeOrmAuditRepository, TypeOrmSigningKeyRepository, createDataSource } from '@ciba/persistence';
import {
  AuditCheckpointer,
  AuditRetention,
  AuditRetentionScheduler,
  type ChainVerification,
  type PruneReport,
  describeChainBreak,
  retentionCutoff,
  verifyAuditChain,
  withUnsealedKeys,
} from '@ciba/service-audit';
import { type TestDatabase, createTestDatabase } from '@ciba/testing';
import { KeyEncryptor, KeyStore } from '@ciba/tokens';

const ISSUER = 'https://op.example.test';
const DAY_MS = 86_400_000;
const BASE = Date.UTC(2030, 0, 1);
/** Midnight UTC of day `n` after the base date, plus `hours`. */
const day = (n: number, hours = 0) => new Date(BASE + n * DAY_MS + hours * 3_600_000);

class FixedClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  set(to: Date): void {
    this.current = to;
  }
}

function anEvent(occurredAt: Date, requestId: string = randomUUID()): AuditRecord {
  return {
    eventId: `${requestId}:${randomUUID()}`,
    type: 'auth_request.created',
    requestId,
    clientId: 'rp-1',
    subject: 'alice',
    occurredAt,
    correlationId: null,
    payload: { version: 1, deliveryMode: 'poll', scope: ['openid'] },
  };
}

/**
 * Issue "Audit" item 4: retention. Pruning removes a prefix of the hash chain up to a signed
 * checkpoint older than the cutoff and keeps the checkpoints, so `verify` still checks the rest
 * from that checkpoint and still pinpoints any row deleted, edited or moved after it.
 */
describe('audit trail retention: pruning up to a signed checkpoint keeps the chain verifiable', () => {
  let db: TestDatabase;
  let keyStore: KeyStore;
  let chain: TypeOrmAuditChain;
  const clock = new FixedClock(day(1));
  const encryptor = new KeyEncryptor(Buffer.alloc(32, 5).toString('base64'));
  const sql = <T>(text: string, parameters: unknown[] = []) => db.dataSource.query<T>(text, parameters);
  const verify = (options: { fromCheckpoint?: number } = {}) => verifyAuditChain(withUnsealedKeys(chain, encryptor), options);
  const seqs = async () => (await sql<{ seq: string }[]>('SELECT seq FROM audit_records ORDER BY seq')).map((row) => Number(row.seq));
  const eventIdAt = async (seq: number) => (await sql<{ event_id: string }[]>('SELECT event_id FROM audit_records WHERE seq = $1', [seq]))[0].event_id;
  const expectBroken = (result: ChainVerification, broken: unknown) => expect(result).toMatchObject({ ok: false, broken });
  /** Request ids of the rows at seq 1 (day 1, pruned with checkpoint 3) and seq 9 (day 3, after checkpoint 8). */
  let requestAt1: string;
  let requestAt9: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    keyStore = new KeyStore({ repository: new TypeOrmSigningKeyRepository(db.dataSource), encryptor, clock, algs: ['ES256'] });
    await keyStore.init();
    chain = new TypeOrmAuditChain(db.dataSource);
  });
  afterAll(async () => {
    await db?.drop();
  });

  /**
   * Ten entries: seq 1-3 occurred on day 1 (checkpoint 3 signed day 1, 01:00), seq 4-8 on day 2
   * (checkpoint 8 signed day 2, 01:00), seq 9-10 on day 3 (no checkpoint yet).
   */
  beforeEach(async () => {
    await sql('TRUNCATE audit_records, audit_checkpoints, audit_evidence_records');
    await sql('UPDATE audit_chain_head SET seq = 0, hash = $1, pruned_seq = 0, pruned_at = NULL', [AUDIT_CHAIN_GENESIS_HASH]);
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const checkpointer = new AuditCheckpointer(chain, keyStore, clock, ISSUER, { every: 4, seconds: 30 * 86_400 });
    requestAt1 = randomUUID();
    requestAt9 = randomUUID();
    const batches = [
      { at: 1, events: [anEvent(day(1), requestAt1), anEvent(day(1)), anEvent(day(1))] },
      { at: 2, events: Array.from({ length: 5 }, () => anEvent(day(2))) },
      { at: 3, events: [anEvent(day(3), requestAt9), anEvent(day(3))] },
    ];
    for (const batch of batches) {
      await repository.appendMany(batch.events);
      clock.set(day(batch.at, 1));
      await checkpointer.checkpointIfDue();
    }
    expect((await chain.checkpoints()).map((checkpoint) => checkpoint.seq)).toEqual([3, 8]);
  });

  const prune = (cutoff: Date, options: Parameters<AuditRetention['prune']>[1] = {}) => new AuditRetention(chain).prune(cutoff, options);

  it('prunes the rows up to the newest checkpoint older than the cutoff, keeps every row after it and every checkpoint; verify then passes from that checkpoint', async () => {
    await expect(prune(day(2))).resolves.toEqual({ outcome: 'pruned', cutoff: day(2), checkpointSeq: 3, prunedBefore: 0, prunedAfter: 3, rows: 3, evidenceRecords: 0 });
    expect(await seqs()).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect((await chain.checkpoints()).map((checkpoint) => checkpoint.seq)).toEqual([3, 8]);
    await expect(chain.pruned()).resolves.toMatchObject({ seq: 3 });
    await expect(verify()).resolves.toEqual({
      ok: true,
      entries: 7,
      checkpoints: 2,
      fromSeq: 3,
      unchainedRows: 0,
      pruned: { rows: 3, checkpointSeq: 3, signedAt: day(1, 1) },
    });

    // Later, past the next checkpoint: from 8 on; rows of day 3 (after the last checkpoint) stay.
    await expect(prune(day(4))).resolves.toMatchObject({ outcome: 'pruned', checkpointSeq: 8, prunedBefore: 3, prunedAfter: 8, rows: 5 });
    expect(await seqs()).toEqual([9, 10]);
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 2, checkpoints: 1, pruned: { rows: 8, checkpointSeq: 8 } });
  });

  it('a row edited, deleted or reordered after the checkpoint is still pinpointed after a prune, the first retained row included', async () => {
    await prune(day(2));
    await sql(`UPDATE audit_records SET payload = payload || '{"decision":"approved"}' WHERE seq = 6`);
    expectBroken(await verify(), { kind: 'edited', seq: 6, eventId: await eventIdAt(6) });
    await sql(`UPDATE audit_records SET payload = payload - 'decision' WHERE seq = 6`);
    await expect(verify()).resolves.toMatchObject({ ok: true });

    await sql('UPDATE audit_records SET seq = -1 WHERE seq = 6');
    await sql('UPDATE audit_records SET seq = 6 WHERE seq = 7');
    await sql('UPDATE audit_records SET seq = 7 WHERE seq = -1');
    expectBroken(await verify(), { kind: 'reordered', seq: 6, eventId: await eventIdAt(6) });
    await sql('UPDATE audit_records SET seq = -1 WHERE seq = 6');
    await sql('UPDATE audit_records SET seq = 6 WHERE seq = 7');
    await sql('UPDATE audit_records SET seq = 7 WHERE seq = -1');

    await sql('DELETE FROM audit_records WHERE seq = 5');
    const result = await verify();
    expectBroken(result, { kind: 'deleted', afterSeq: 4, nextSeq: 6 });
    // Deleting the first row after the pruned prefix is no prune: the recorded prefix ends at 3.
    await sql('DELETE FROM audit_records WHERE seq = 4');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 3, nextSeq: 6 });
    expect(result.ok || describeChainBreak(result.broken)).toBe('audit chain broken after seq 4: next entry is seq 6 (deleted rows)');
  });

  it('rows deleted without the prune path are reported deleted, the prefix up to a checkpoint included; audit_prune refuses a seq that is no checkpoint', async () => {
    await sql('DELETE FROM audit_records WHERE seq = 5');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 4, nextSeq: 6 });
    await sql('DELETE FROM audit_records WHERE seq <= 3');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 0, nextSeq: 4 });

    await expect(sql('SELECT * FROM audit_prune(5, 10)')).rejects.toThrow(/not the seq of a stored checkpoint/);
    await expect(sql('SELECT * FROM audit_prune(9, 10)')).rejects.toThrow(/not the seq of a stored checkpoint/);
    await expect(sql('SELECT * FROM audit_prune(8, 0)')).rejects.toThrow(/max_rows/);
    await expect(sql('SELECT * FROM audit_prune(8, 1000000)')).rejects.toThrow(/max_rows/);
    await expect(chain.pruned()).resolves.toMatchObject({ seq: 0 });
  });

  it('audit_prune refuses a checkpoint whose row no longer carries its hash', async () => {
    await sql(`UPDATE audit_records SET hash = $1 WHERE seq = 3`, ['a'.repeat(64)]);
    await expect(chain.pruneChain(3, 10)).rejects.toThrow(/not the seq of a stored checkpoint matching its row/);
    expect(await seqs()).toHaveLength(10);
  });

  it('nothing is pruned while no checkpoint is old enough: none signed before the cutoff, or one of its rows occurred after it', async () => {
    await expect(prune(day(1))).resolves.toMatchObject({ outcome: 'pruned', checkpointSeq: null, rows: 0, prunedAfter: 0 });
    // Checkpoint 3 was signed at 01:00 on day 1: a cutoff at 00:30 is before it.
    await expect(prune(day(1, 0.5))).resolves.toMatchObject({ checkpointSeq: null, rows: 0 });
    expect(await seqs()).toHaveLength(10);
    await expect(verify()).resolves.toEqual({ ok: true, entries: 10, checkpoints: 2, fromSeq: 0, unchainedRows: 0 });
  });

  it('a row stamped after the cutoff (a publisher clock ahead) keeps its checkpoint and every later one', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    await sql('TRUNCATE audit_records, audit_checkpoints');
    await sql('UPDATE audit_chain_head SET seq = 0, hash = $1', [AUDIT_CHAIN_GENESIS_HASH]);
    const checkpointer = new AuditCheckpointer(chain, keyStore, clock, ISSUER, { every: 2, seconds: 30 * 86_400 });
    await repository.appendMany([anEvent(day(1)), anEvent(day(1))]);
    clock.set(day(1, 1));
    await checkpointer.checkpointIfDue();
    await repository.appendMany([anEvent(day(1)), anEvent(day(9))]);
    await checkpointer.checkpointIfDue();
    await repository.appendMany([anEvent(day(1)), anEvent(day(1))]);
    await checkpointer.checkpointIfDue();
    expect((await chain.checkpoints()).map((checkpoint) => checkpoint.seq)).toEqual([2, 4, 6]);
    await expect(prune(day(5))).resolves.toMatchObject({ checkpointSeq: 2, rows: 2 });
    expect(await seqs()).toEqual([3, 4, 5, 6]);
  });

  it('retention 0 (the default) prunes nothing; the scheduled run prunes past CIBA_AUDIT_RETENTION_DAYS', async () => {
    expect(retentionCutoff(day(10), 0)).toBeNull();
    const off = new AuditRetentionScheduler(chain, { auditRetention: { days: 0, intervalSeconds: 3600 } } as unknown as ProviderConfig, clock);
    off.onApplicationBootstrap();
    await expect(off.run()).resolves.toBeNull();
    const unset = new AuditRetentionScheduler(chain, {} as unknown as ProviderConfig, clock);
    await expect(unset.run()).resolves.toBeNull();
    expect(await seqs()).toHaveLength(10);

    // Day 3, 12:00, 1 day of retention: cutoff day 2, 12:00; checkpoint 3 qualifies, checkpoint 8 (signed day 2, 01:00) has rows of day 2, 00:00: so does it.
    clock.set(day(3, 12));
    const scheduler = new AuditRetentionScheduler(chain, { auditRetention: { days: 1, intervalSeconds: 3600 } } as unknown as ProviderConfig, clock);
    await expect(scheduler.run()).resolves.toMatchObject({ outcome: 'pruned', checkpointSeq: 8, rows: 8 });
    expect(await seqs()).toEqual([9, 10]);
    await scheduler.beforeApplicationShutdown();
  });

  it('batched and bounded: a run stops at its budget; verify passes in between (the rest up to the checkpoint still leads to it); the next run finishes', async () => {
    await expect(prune(day(4), { maxRows: 2 })).resolves.toMatchObject({ outcome: 'partial', checkpointSeq: 8, prunedAfter: 2, rows: 2 });
    expect(await seqs()).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 8, checkpoints: 2, pruned: { rows: 2, checkpointSeq: 3 } });
    await expect(prune(day(4), { maxRows: 4 })).resolves.toMatchObject({ outcome: 'partial', prunedBefore: 2, prunedAfter: 6, rows: 4 });
    await expect(verify()).resolves.toMatchObject({ ok: true, entries: 4, checkpoints: 1, pruned: { rows: 6, checkpointSeq: 8 } });
    await expect(prune(day(4), { maxRows: 4 })).resolves.toMatchObject({ outcome: 'pruned', prunedBefore: 6, prunedAfter: 8, rows: 2 });
    expect(await seqs()).toEqual([9, 10]);
  });

  it('in the middle of a prune, a row edited or deleted between the pruned prefix and its checkpoint is still found', async () => {
    await prune(day(4), { maxRows: 4 });
    await sql(`UPDATE audit_records SET payload = payload || '{"x":1}' WHERE seq = 7`);
    expectBroken(await verify(), { kind: 'edited', seq: 7 });
    await sql(`UPDATE audit_records SET payload = payload - 'x' WHERE seq = 7`);
    await sql('DELETE FROM audit_records WHERE seq = 5');
    expectBroken(await verify(), { kind: 'deleted', afterSeq: 4, nextSeq: 6 });
  });

  it('a break below the checkpoint refuses the prune: nothing past the last good checkpoint is removed, and verify still names the row', async () => {
    await sql(`UPDATE audit_records SET subject = 'mallory' WHERE seq = 5`);
    const report = await prune(day(4));
    expect(report).toMatchObject({ outcome: 'refused', rows: 3, broken: { kind: 'edited', seq: 5, eventId: await eventIdAt(5) } });
    expect(await seqs()).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expectBroken(await verify(), { kind: 'edited', seq: 5 });

    await sql('DELETE FROM audit_records WHERE seq = 6');
    expect(await prune(day(4), { dryRun: true })).toMatchObject({ outcome: 'refused', broken: { kind: 'edited', seq: 5 } });
  });

  it('a dry run removes nothing and reports what a run would remove', async () => {
    await sql(`INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at) VALUES ($1, 'rp-1', 'alice', $2)`, [requestAt1, day(1)]);
    await expect(prune(day(2), { dryRun: true })).resolves.toEqual({ outcome: 'pruned', cutoff: day(2), checkpointSeq: 3, prunedBefore: 0, prunedAfter: 3, rows: 3, evidenceRecords: 1 });
    expect(await seqs()).toHaveLength(10);
    await expect(chain.pruned()).resolves.toMatchObject({ seq: 0 });
    await expect(sql('SELECT count(*)::int AS n FROM audit_evidence_records')).resolves.toEqual([{ n: 1 }]);
  });

  it('evidence records go once requested before the cutoff and none of their trail rows remains; the others stay', async () => {
    const evidence = async (requestId: string, requestedAt: Date | null, updatedAt: Date) =>
      sql(`INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at, updated_at) VALUES ($1, 'rp-1', 'alice', $2, $3)`, [
        requestId,
        requestedAt,
        updatedAt,
      ]);
    const withoutTrail = randomUUID();
    const unknownTime = randomUUID();
    const recent = randomUUID();
    const recentlyUpdated = randomUUID();
    await evidence(requestAt1, day(1), day(1)); // its row (seq 1) pruned: goes
    await evidence(requestAt9, day(1), day(3)); // its row at seq 9 stays: stays
    await evidence(withoutTrail, day(1), day(1)); // no trail rows at all: goes
    await evidence(unknownTime, null, day(1)); // request time unknown, last written day 1: goes
    await evidence(recentlyUpdated, null, day(3)); // request time unknown, written after the cutoff: stays
    await evidence(recent, day(3), day(3)); // requested after the cutoff: stays
    await expect(prune(day(2))).resolves.toMatchObject({ checkpointSeq: 3, rows: 3, evidenceRecords: 3 });
    const left = (await sql<{ request_id: string }[]>('SELECT request_id FROM audit_evidence_records')).map((row) => row.request_id);
    expect(left.sort()).toEqual([requestAt9, recent, recentlyUpdated].sort());
  });

  it('two replicas (two connection pools) pruning concurrently remove each row once, without an error', async () => {
    const other = createDataSource({ url: db.url, poolSize: 5 });
    await other.initialize();
    try {
      const otherChain = new TypeOrmAuditChain(other);
      const reports: PruneReport[] = await Promise.all([
        new AuditRetention(chain).prune(day(4), { maxRows: 100 }),
        new AuditRetention(otherChain).prune(day(4), { maxRows: 100 }),
        new AuditRetention(chain).prune(day(4), { wait: true }),
        new AuditRetention(otherChain).prune(day(4), { wait: true }),
      ]);
      const removed = reports.reduce((sum, report) => sum + (report.outcome === 'busy' ? 0 : report.outcome === 'refused' ? Number.NaN : report.rows), 0);
      expect(removed).toBe(8);
      expect(await seqs()).toEqual([9, 10]);

      // The batches themselves, raced one row at a time from both pools: each row removed once.
      await sql('TRUNCATE audit_records, audit_checkpoints');
      await sql('UPDATE audit_chain_head SET seq = 0, hash = $1, pruned_seq = 0, pruned_at = NULL', [AUDIT_CHAIN_GENESIS_HASH]);
      const repository = new TypeOrmAuditRepository(db.dataSource);
      await repository.appendMany(Array.from({ length: 40 }, () => anEvent(day(1))));
      await new AuditCheckpointer(chain, keyStore, clock, ISSUER, { every: 1, seconds: 1 }).checkpointIfDue();
      const batches = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? chain : otherChain).pruneChain(40, 2)));
      expect(batches.reduce((sum, batch) => sum + batch.removed, 0)).toBe(40);
      await expect(chain.pruned()).resolves.toMatchObject({ seq: 40 });
      expect(await seqs()).toEqual([]);
      await expect(verify()).resolves.toMatchObject({ ok: true, entries: 0, checkpoints: 1, pruned: { rows: 40, checkpointSeq: 40 } });
    } finally {
      await other.destroy();
    }
  });

  it('verify running while a prune removes rows under it starts again from the new prefix instead of reporting them deleted', async () => {
    const source = withUnsealedKeys(chain, encryptor);
    let pruned = false;
    const racing = {
      ...source,
      entries: (afterSeq: number) => {
        const inner = source.entries(afterSeq);
        return (async function* () {
          if (!pruned) {
            pruned = true;
            await prune(day(2));
          }
          yield* inner;
        })();
      },
    };
    await expect(verifyAuditChain(racing)).resolves.toMatchObject({ ok: true, entries: 7, pruned: { rows: 3, checkpointSeq: 3 } });
  });

  it('after a prune, --from-checkpoint below the prefix is refused, and checkpoints deleted past the prefix leave nothing to anchor to', async () => {
    await prune(day(4));
    await expect(verify({ fromCheckpoint: 8 })).resolves.toMatchObject({ ok: true, entries: 2 });
    const below = await verify({ fromCheckpoint: 3 });
    expectBroken(below, { kind: 'pruned', seq: 3, prunedSeq: 8 });
    expect(below.ok || describeChainBreak(below.broken)).toBe('audit rows up to seq 8 were pruned: verify from a checkpoint at or after it, not seq 3');
    await sql('DELETE FROM audit_checkpoints WHERE seq >= 8');
    expectBroken(await verify(), { kind: 'unanchored', prunedSeq: 8 });
  });
});
