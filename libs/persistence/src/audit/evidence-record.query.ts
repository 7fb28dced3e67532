import type { EvidenceRecordDocument, EvidenceRecordFilter, EvidenceRecordPage, EvidenceRecordPosition, EvidenceRecordQuery } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';
import { EVIDENCE_RECORD_COLUMNS } from './evidence-record.repository.js';

type Row = Record<string, unknown>;

/** The columns the audit API shows: the record's, and when it was last written; `revision` (the merge's write counter) is internal. */
const COLUMNS = [...EVIDENCE_RECORD_COLUMNS, 'updated_at'] as const;

const TIMESTAMPS: ReadonlySet<string> = new Set(['requested_at', 'expires_at', 'decided_at', 'redeemed_at', 'updated_at']);

/**
 * requested_at exactly as stored (microseconds), in UTC, for the page's keyset position: a `Date`
 * keeps milliseconds only, and a position rounded down would repeat or skip records.
 */
const POSITION_TEXT = `to_char("requested_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * Evidence records by filters, newest first (`requested_at` descending, records not dated yet first,
 * then `request_id` descending to break ties), one page per statement. The position is a row
 * comparison, which PostgreSQL turns into an index range (`ix_audit_evidence_records_requested_at`,
 * or the client and subject indexes when those filter), so page n costs what page 1 costs. Every
 * value is a bound parameter; the statement's text depends only on which filters are present.
 */
export class TypeOrmEvidenceRecordQuery implements EvidenceRecordQuery {
  constructor(private readonly dataSource: DataSource) {}

  async page(filter: EvidenceRecordFilter, after: EvidenceRecordPosition | null, limit: number): Promise<EvidenceRecordPage> {
    // One more than asked: whether a next page exists, without a count.
    const { sql, parameters } = evidencePageStatement(filter, after, limit + 1);
    const rows = await queryRows(this.dataSource, sql, parameters);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      records: page.map(toDocument),
      next: rows.length > limit && last ? { requestedAt: last['position'] === null ? null : String(last['position']), requestId: String(last['request_id']) } : null,
    };
  }
}

/** The statement of one page: at most `limit` rows matching `filter` after `after`, each with its keyset `position`. */
export function evidencePageStatement(filter: EvidenceRecordFilter, after: EvidenceRecordPosition | null, limit: number): { sql: string; parameters: unknown[] } {
  const where: string[] = [];
  const parameters: unknown[] = [];
  const bind = (value: unknown): string => {
    parameters.push(value);
    return `$${parameters.length}`;
  };
  if (filter.requestId !== undefined) where.push(`"request_id" = ${bind(filter.requestId)}`);
  if (filter.clientId !== undefined) where.push(`"client_id" = ${bind(filter.clientId)}`);
  if (filter.userHintHash !== undefined) where.push(`"user_hint_hash" = ${bind(filter.userHintHash)}`);
  if (filter.subject !== undefined) where.push(`"subject" = ${bind(filter.subject)}`);
  if (filter.decision === 'pending') where.push(`"decision" IS NULL`);
  else if (filter.decision !== undefined) where.push(`"decision" = ${bind(filter.decision)}`);
  if (filter.from !== undefined) where.push(`"requested_at" >= ${bind(filter.from.toISOString())}::timestamptz`);
  if (filter.to !== undefined) where.push(`"requested_at" <= ${bind(filter.to.toISOString())}::timestamptz`);
  if (after !== null) {
    // Undated records come first (NULLS FIRST): after a dated one, only older dated ones are left.
    where.push(
      after.requestedAt === null
        ? `("requested_at" IS NOT NULL OR "request_id" < ${bind(after.requestId)})`
        : `("requested_at", "request_id") < (${bind(after.requestedAt)}::timestamptz, ${bind(after.requestId)})`,
    );
  }
  const sql =
    `SELECT ${COLUMNS.map((c) => `"${c}"`).join(', ')}, ${POSITION_TEXT} AS "position" FROM "audit_evidence_records"` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY "requested_at" DESC NULLS FIRST, "request_id" DESC LIMIT ${bind(limit)}`;
  return { sql, parameters };
}

function toDocument(row: Row): EvidenceRecordDocument {
  const document: Row = {};
  for (const column of COLUMNS) {
    const value = row[column];
    document[column] = TIMESTAMPS.has(column) && value instanceof Date ? value.toISOString() : (value ?? null);
  }
  return document as unknown as EvidenceRecordDocument;
}
