import type { AuditRecord, AuditRepository, EvidenceMerge } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { AuditRecordEntity } from './audit-record.entity.js';
import { toAuditRecord } from './audit.mapper.js';
import { auditRecordDigest } from './audit-chain.js';
import { type EvidenceMergePlan, TypeOrmEvidenceRecordRepository, upsertSql } from './evidence-record.repository.js';

/** Appends racing other replicas retry from the new head; past this many attempts the bus redelivers the batch. */
const MAX_APPEND_ATTEMPTS = 20;

/** Another replica appended first: a seq or event id taken (unique violation), the head moved (serialization failure), or a deadlock between the two. */
function isChainConflict(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.code ?? e?.driverError?.code;
  return code === '23505' || code === '40001' || code === '40P01';
}

/**
 * New rows of the batch (not stored yet), numbered after the head in batch order, each hashed over
 * its predecessor: `sha256(prev_hash || row digest || int8send(seq))`, as `auditEntryHash` does.
 */
const APPEND_SQL = `INSERT INTO audit_records (event_id, type, request_id, client_id, subject, occurred_at, correlation_id, payload, device_id, seq, prev_hash, hash)
WITH RECURSIVE
  batch AS MATERIALIZED (
    SELECT u.*, row_number() OVER (ORDER BY u.ord) AS n
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::jsonb[], $9::text[], $10::text[])
      WITH ORDINALITY AS u(event_id, type, request_id, client_id, subject, occurred_at, correlation_id, payload, device_id, digest, ord)
    WHERE NOT EXISTS (SELECT 1 FROM audit_records r WHERE r.event_id = u.event_id)
  ),
  digests AS (SELECT array_agg(digest ORDER BY n) AS d, count(*) AS total FROM batch),
  chained AS (
    SELECT 1::bigint AS n, h.seq + 1 AS seq, h.hash AS prev_hash, encode(sha256(decode(h.hash, 'hex') || decode(x.d[1], 'hex') || int8send(h.seq + 1)), 'hex') AS hash
    FROM audit_chain_head h CROSS JOIN digests x
    WHERE h.id = 1 AND x.total > 0
    UNION ALL
    SELECT c.n + 1, c.seq + 1, c.hash, encode(sha256(decode(c.hash, 'hex') || decode(x.d[c.n + 1], 'hex') || int8send(c.seq + 1)), 'hex')
    FROM chained c CROSS JOIN digests x
    WHERE c.n < x.total
  )
SELECT b.event_id, b.type, b.request_id, b.client_id, b.subject, b.occurred_at, b.correlation_id, b.payload, b.device_id, c.seq, c.prev_hash, c.hash
FROM batch b JOIN chained c ON c.n = b.n
ORDER BY c.seq
RETURNING event_id`;

/**
 * The append with the evidence records' write as a second data-modifying CTE (its rows in `$11`):
 * one statement, all or none. Returns which trail rows and which records it wrote.
 */
const APPEND_WITH_EVIDENCE_SQL = `WITH appended AS (${APPEND_SQL}),
  merged AS (${upsertSql(11)})
SELECT 'trail' AS part, event_id AS id FROM appended
UNION ALL
SELECT 'evidence', request_id FROM merged`;

export class TypeOrmAuditRepository implements AuditRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly evidence: TypeOrmEvidenceRecordRepository = new TypeOrmEvidenceRecordRepository(dataSource),
  ) {}

  /** Idempotent by event id: a redelivered event is a no-op and returns false. */
  async append(record: AuditRecord): Promise<boolean> {
    return (await this.appendMany([record])) === 1;
  }

  /**
   * Several records in one statement (all or none), each idempotent by event id, appended to the hash
   * chain (`audit-chain.ts`) in the order given; returns how many were stored now.
   *
   * One statement per batch: it skips the events stored already (redeliveries are never chained
   * twice), numbers the rest after the chain head and chains them with `sha256()` over the row
   * digests computed here. Its trigger (migration 1700002400000) moves the head in the same
   * statement and refuses rows that do not continue the chain. When another audit replica appended
   * meanwhile, the statement fails (seq or event id taken, or `40001`) and runs again against the new
   * head; so every replica extends one gap-free chain without a lock held across round trips.
   *
   * The evidence records of `evidence` are written by the same statement, as the evidence repository
   * planned them; only records another replica wrote in between take statements of their own after it.
   */
  async appendMany(records: readonly AuditRecord[], evidence?: EvidenceMerge): Promise<number> {
    // Chained once, at its first appearance in the batch.
    const seen = new Set<string>();
    const batch: AuditRecord[] = [];
    for (const record of records) {
      if (seen.has(record.eventId)) continue;
      seen.add(record.eventId);
      batch.push(record);
    }
    const merge = evidence ? this.evidence.plan(evidence.records, evidence.join) : null;
    if (batch.length === 0) {
      if (merge) await this.evidence.settle(merge, merge.writes.size === 0 ? [] : await this.writeAlone(merge));
      return 0;
    }
    const parameters: unknown[] = [
      batch.map((record) => record.eventId),
      batch.map((record) => record.type),
      batch.map((record) => record.requestId),
      batch.map((record) => record.clientId),
      batch.map((record) => record.subject),
      batch.map((record) => record.occurredAt),
      batch.map((record) => record.correlationId),
      batch.map((record) => JSON.stringify(record.payload)),
      batch.map((record) => record.deviceId ?? null),
      batch.map(auditRecordDigest),
    ];
    const withEvidence = merge !== null && merge.writes.size > 0;
    const rows = await this.appendRetrying(withEvidence ? APPEND_WITH_EVIDENCE_SQL : APPEND_SQL, withEvidence ? [...parameters, merge.parameter] : parameters);
    if (!withEvidence) return rows.length;
    await this.evidence.settle(
      merge,
      rows.filter((row) => row['part'] === 'evidence').map((row) => String(row['id'])),
    );
    return rows.filter((row) => row['part'] === 'trail').length;
  }

  /** Runs an append statement again, against the new head, while other replicas' appends win the race. */
  private async appendRetrying(sql: string, parameters: readonly unknown[]): Promise<Record<string, unknown>[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await queryRows(this.dataSource, sql, parameters);
      } catch (err) {
        if (attempt >= MAX_APPEND_ATTEMPTS || !isChainConflict(err)) throw err;
      }
    }
  }

  private async writeAlone(merge: EvidenceMergePlan): Promise<string[]> {
    return (await queryRows(this.dataSource, upsertSql(1), [merge.parameter])).map((row) => String(row['request_id']));
  }

  /** The trail of one request, oldest first (admin tool, tests). */
  async listForRequest(requestId: string): Promise<AuditRecord[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_records WHERE request_id = $1 ORDER BY occurred_at, event_id`, [
      requestId,
    ]);
    return rows.map((row) => toAuditRecord(hydrate(this.dataSource, AuditRecordEntity, row)));
  }

  /** The trail of one device registration, oldest first (admin tool, tests). */
  async listForDevice(deviceId: string): Promise<AuditRecord[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_records WHERE device_id = $1 ORDER BY occurred_at, event_id`, [deviceId]);
    return rows.map((row) => toAuditRecord(hydrate(this.dataSource, AuditRecordEntity, row)));
  }
}
