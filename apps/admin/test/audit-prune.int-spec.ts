import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { TypeOrmAuditChain, TypeOrmAuditRepository, TypeOrmSigningKeyRepository } from '@ciba/persistence';
import { AuditCheckpointer, withUnsealedKeys } from '@ciba/service-audit';
import { type TestDatabase, createTestDatabase } from '@ciba/testing';
import { KeyEncryptor, KeyStore } from '@ciba/tokens';
import { auditPruneCommand, parseBefore } from '../src/audit-prune.command.js';
import { auditVerifyCommand } from '../src/audit-verify.command.js';

/** A payload value that must never appear in the command's output. */
const MARKER = 'payload-marker-41c9';
const DAY_MS = 86_400_000;
const day = (n: number, hours = 0) => new Date(Date.UTC(2030, 0, 1) + n * DAY_MS + hours * 3_600_000);

describe('ciba-admin audit prune (issue "Audit" item 4)', () => {
  let db: TestDatabase;
  let chain: TypeOrmAuditChain;
  let current = day(1);
  const clock: Clock = { now: () => new Date(current) };
  const encryptor = new KeyEncryptor(Buffer.alloc(32, 3).toString('base64'));
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) } };
  };
  const prune = async (options: { before?: Date; retentionDays?: number; dryRun?: boolean; now?: Date }) => {
    const lines = io();
    const code = await auditPruneCommand(chain, { before: options.before, retentionDays: options.retentionDays ?? 0, dryRun: options.dryRun ?? false, now: options.now ?? day(10) }, lines.io);
    return { code, out: lines.out, err: lines.err };
  };
  const rowCount = async () => (await db.dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_records'))[0].n;

  /** Seq 1-3 on day 1 (checkpoint 3 signed day 1, 01:00), 4-6 on day 2 (checkpoint 6 signed day 2, 01:00), 7-9 on day 3 (checkpoint 9, day 3). */
  beforeAll(async () => {
    db = await createTestDatabase();
    chain = new TypeOrmAuditChain(db.dataSource);
    const keyStore = new KeyStore({ repository: new TypeOrmSigningKeyRepository(db.dataSource), encryptor, clock, algs: ['RS256'] });
    await keyStore.init();
    const checkpointer = new AuditCheckpointer(chain, keyStore, clock, 'https://op.example.test', { every: 3, seconds: 30 * 86_400 });
    const repository = new TypeOrmAuditRepository(db.dataSource);
    for (let batch = 1; batch <= 3; batch++) {
      const requestIds = Array.from({ length: 3 }, () => randomUUID());
      await repository.appendMany(
        requestIds.map((requestId, i) => ({ eventId: `${requestId}:auth_request.created`, type: 'auth_request.created', requestId, clientId: 'rp', subject: 'alice', occurredAt: day(batch), correlationId: null, payload: { version: 1, note: MARKER, i } })),
      );
      for (const requestId of requestIds) {
        await db.dataSource.query(`INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at) VALUES ($1, 'rp', 'alice', $2)`, [requestId, day(batch)]);
      }
      current = day(batch, 1);
      await checkpointer.checkpointIfDue();
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('with CIBA_AUDIT_RETENTION_DAYS 0 and no --before, prunes nothing and says so', async () => {
    await expect(prune({ retentionDays: 0 })).resolves.toEqual({
      code: 0,
      out: ['CIBA_AUDIT_RETENTION_DAYS is 0 (the audit trail is kept forever): nothing pruned; give --before DATE to prune older rows'],
      err: [],
    });
    expect(await rowCount()).toBe(9);
  });

  it('--dry-run prints what a run would remove and removes nothing', async () => {
    await expect(prune({ before: day(2), dryRun: true })).resolves.toEqual({
      code: 0,
      out: [
        'audit trail: dry run: would prune 3 rows (seq 1 to 3), up to checkpoint seq 3, older than 2030-01-03T00:00:00.000Z',
        'evidence records: dry run: would remove 3 (requested before 2030-01-03T00:00:00.000Z, their trail rows all pruned)',
      ],
      err: [],
    });
    expect(await rowCount()).toBe(9);
  });

  it('a real run prints what it removed; verify then starts from the checkpoint and says how many rows were pruned before it', async () => {
    // Retention 7 days on day 10, 00:00: cutoff day 3, 00:00; checkpoint 6 (signed day 2, 01:00) is the newest older one.
    const result = await prune({ retentionDays: 7, now: day(10) });
    expect(result).toEqual({
      code: 0,
      out: [
        'audit trail: pruned 6 rows (seq 1 to 6), up to checkpoint seq 6, older than 2030-01-04T00:00:00.000Z',
        'evidence records: removed 6 (requested before 2030-01-04T00:00:00.000Z, their trail rows all pruned)',
      ],
      err: [],
    });
    expect(await rowCount()).toBe(3);
    await expect(db.dataSource.query('SELECT count(*)::int AS n FROM audit_evidence_records')).resolves.toEqual([{ n: 3 }]);

    const out: string[] = [];
    await expect(auditVerifyCommand(withUnsealedKeys(chain, encryptor), undefined, { out: (line) => out.push(line), err: (line) => out.push(line) })).resolves.toBe(0);
    expect(out).toEqual([`audit chain verified from checkpoint seq 6 (signed ${day(2, 1).toISOString()}): 3 entries, 2 checkpoints; 6 rows pruned before it`]);

    // Run again: nothing left that is old enough.
    await expect(prune({ retentionDays: 7, now: day(10) })).resolves.toEqual({
      code: 0,
      out: [
        'audit trail: nothing to prune before 2030-01-04T00:00:00.000Z (no signed checkpoint past seq 6 whose rows are all older)',
        'evidence records: removed 0 (requested before 2030-01-04T00:00:00.000Z, their trail rows all pruned)',
      ],
      err: [],
    });
  });

  it('refuses to prune rows that do not verify, names the row (never the payload) and exits 1', async () => {
    await db.dataSource.query(`UPDATE audit_records SET payload = payload || '{"i": 99}' WHERE seq = 8`);
    const [{ event_id: eventId }] = await db.dataSource.query<{ event_id: string }[]>('SELECT event_id FROM audit_records WHERE seq = 8');
    const result = await prune({ before: day(10) });
    expect(result.code).toBe(1);
    expect(result.out).toEqual([]);
    expect(result.err).toEqual([
      `audit chain broken at seq 8 (event ${eventId}): the row does not match its hash (edited)`,
      'audit trail NOT pruned past the break (0 rows removed before it); run `ciba-admin audit verify`',
    ]);
    expect(result.err.join('\n')).not.toContain(MARKER);
    expect(await rowCount()).toBe(3);
  });

  it('--before takes a past ISO 8601 date or date-time, nothing else', () => {
    const now = day(10);
    expect(parseBefore(undefined, now)).toBeUndefined();
    expect(parseBefore('2030-01-05', now)).toEqual(day(4));
    expect(parseBefore('2030-01-05T06:00:00Z', now)).toEqual(day(4, 6));
    expect(parseBefore('2030-01-05T08:00+02:00', now)).toEqual(day(4, 6));
    for (const bad of ['', 'yesterday', '2030-02-31', '2030-01-05T06:00:00', '1e12', '2030-13-01', '2031-01-01', `2030-01-05${'0'.repeat(5000)}`]) {
      expect(() => parseBefore(bad, now)).toThrow(ConfigError);
    }
  });
});
