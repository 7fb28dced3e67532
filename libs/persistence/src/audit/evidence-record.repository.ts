import type { EvidenceCallback, EvidenceCallbackAttempt, EvidenceChannel, EvidenceDownstreamReport, EvidenceRecord, EvidenceRecordRepository, EvidenceTokenOutcome } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';
import { canonicalJson } from './audit-chain.js';

type Row = Record<string, unknown>;

type EvidenceJoin = (stored: EvidenceRecord, incoming: EvidenceRecord) => EvidenceRecord;
type Versioned = { readonly record: EvidenceRecord; readonly revision: number };

/** A merge in progress: the batch's records and the write to make next (`upsertSql`'s one parameter). */
export interface EvidenceMergePlan {
  readonly incoming: ReadonlyMap<string, EvidenceRecord>;
  readonly join: EvidenceJoin;
  readonly writes: ReadonlyMap<string, Versioned>;
  readonly parameter: string;
}

/** Rounds of read-and-write a merge makes before giving up (the batch is then retried by the bus). */
const MERGE_ROUNDS = 8;
/** Records this process wrote last, with their revision, at most this many (the oldest go first). */
const KNOWN_RECORDS = 4096;

/**
 * Evidence records in `audit_evidence_records`, merged without an explicit transaction by
 * optimistic concurrency: each write (`INSERT … ON CONFLICT DO UPDATE`, every changed record of a
 * batch in one statement) applies only over the `revision` it joined with; a record another audit
 * replica wrote in between (or created first) is not written and is read again, joined again and
 * written again, so no replica loses another's facts.
 *
 * The records this process wrote last are remembered with their revision, so the common case — one
 * replica seeing a request's events, or a request's first events — is one statement per batch: the
 * write over the remembered (or absent) record, which only falls back to reading when the stored
 * revision is not the one remembered. A batch that changes nothing the process knows costs nothing.
 * The join only ever adds facts, so a record it would not change was already stored. The audit
 * consumer makes that write inside the statement that appends the batch to the trail (`plan`,
 * `upsertSql`, `settle`), so the trail and the records move together in one round trip.
 */
export class TypeOrmEvidenceRecordRepository implements EvidenceRecordRepository {
  private readonly known = new Map<string, Versioned>();

  constructor(private readonly dataSource: DataSource) {}

  async mergeMany(records: readonly EvidenceRecord[], join: EvidenceJoin): Promise<number> {
    const merge = this.plan(records, join);
    const written = merge.writes.size === 0 ? [] : await queryRows(this.dataSource, upsertSql(1), [merge.parameter]);
    return this.settle(merge, written.map((row) => String(row['request_id'])));
  }

  /**
   * The first write of a merge, planned from what this process knows (no statement): each record of
   * the batch joined with the one this process wrote last, or written as new. `upsertSql` writes it,
   * alone or inside another statement (the audit trail's append); `settle` then finishes the merge.
   */
  plan(records: readonly EvidenceRecord[], join: EvidenceJoin): EvidenceMergePlan {
    const incoming = new Map<string, EvidenceRecord>();
    for (const record of records) {
      const seen = incoming.get(record.requestId);
      incoming.set(record.requestId, seen ? join(seen, record) : record);
    }
    const base = new Map<string, Versioned | null>();
    for (const id of incoming.keys()) base.set(id, this.known.get(id) ?? null);
    return this.writesOver(incoming, base, join);
  }

  /**
   * Remembers what the plan's write stored (`written`: the request ids it returned) and merges the
   * rest — records another replica wrote in between, or that this process did not know — by reading
   * them, joining again and writing again, until none is left. Returns how many records changed.
   */
  async settle(merge: EvidenceMergePlan, written: readonly string[]): Promise<number> {
    const done = new Set(written);
    for (const id of done) this.remember(id, merge.writes.get(id)!);
    let changed = done.size;
    let pending = [...merge.writes.keys()].filter((id) => !done.has(id)).sort();
    for (let round = 1; round < MERGE_ROUNDS && pending.length > 0; round++) {
      const base = new Map<string, Versioned | null>(pending.map((id) => [id, null]));
      for (const row of await queryRows(this.dataSource, `SELECT * FROM audit_evidence_records WHERE request_id = ANY($1::text[])`, [pending])) {
        base.set(String(row['request_id']), { record: toEvidenceRecord(row), revision: Number(row['revision']) });
      }
      const again = this.writesOver(new Map(pending.map((id) => [id, merge.incoming.get(id)!])), base, merge.join);
      // What changes nothing needs no write; the rest is written or read again.
      pending = [...again.writes.keys()];
      if (pending.length === 0) break;
      const stored = new Set((await queryRows(this.dataSource, upsertSql(1), [again.parameter])).map((row) => String(row['request_id'])));
      for (const id of stored) this.remember(id, again.writes.get(id)!);
      changed += stored.size;
      pending = pending.filter((id) => !stored.has(id));
    }
    if (pending.length > 0) throw new Error(`evidence records still contended after ${MERGE_ROUNDS} rounds`);
    return changed;
  }

  /** The writes that join `incoming` over `base`, each over the revision it joined with (0: no row yet); a record the join would not change needs none. */
  private writesOver(incoming: Map<string, EvidenceRecord>, base: Map<string, Versioned | null>, join: EvidenceJoin): EvidenceMergePlan {
    const writes = new Map<string, Versioned>();
    for (const [id, record] of incoming) {
      const before = base.get(id) ?? null;
      const after = before ? join(before.record, record) : record;
      if (before && canonicalJson(toRow(after)) === canonicalJson(toRow(before.record))) continue;
      writes.set(id, { record: after, revision: (before?.revision ?? 0) + 1 });
    }
    const rows = [...writes.values()].map(({ record, revision }) => ({ ...toRow(record), revision }));
    return { incoming, join, writes, parameter: JSON.stringify(rows) };
  }

  private remember(id: string, entry: Versioned): void {
    this.known.delete(id);
    this.known.set(id, entry);
    if (this.known.size > KNOWN_RECORDS) this.known.delete(this.known.keys().next().value!);
  }

  async find(requestId: string): Promise<EvidenceRecord | null> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_evidence_records WHERE request_id = $1`, [requestId]);
    return rows[0] ? toEvidenceRecord(rows[0]) : null;
  }
}

/** The record's columns, as `toRow` names them (the audit API's query shows them too). */
export const EVIDENCE_RECORD_COLUMNS = [
  'request_id',
  'client_id',
  'subject',
  'issuer',
  'backchannel_endpoint',
  'delivery_mode',
  'scope',
  'acr_values',
  'hint_type',
  'user_hint_hash',
  'binding_message',
  'authorization_details_types',
  'requested_at',
  'expires_at',
  'expires_in',
  'interval',
  'correlation_id',
  'channels',
  'callbacks',
  'callback_attempts',
  'decision',
  'decided_at',
  'denial_reason',
  'denial_limit',
  'acr',
  'amr',
  'tokens_issued',
  'redeemed_at',
  'token_outcome',
  'access_token_jtis',
  'downstream',
  'event_ids',
] as const;

/**
 * The write of a plan, its rows as JSON in parameter `$n`: each record inserted, or written over the
 * stored one only when that is still the revision it was joined with. Returns the request ids written.
 */
export function upsertSql(n: number): string {
  return `INSERT INTO audit_evidence_records AS r (${EVIDENCE_RECORD_COLUMNS.map(quoted).join(', ')}, revision)
SELECT ${EVIDENCE_RECORD_COLUMNS.map((c) => `v.${quoted(c)}`).join(', ')}, v.revision
FROM jsonb_populate_recordset(NULL::audit_evidence_records, $${n}::jsonb) v
ON CONFLICT (request_id) DO UPDATE SET ${EVIDENCE_RECORD_COLUMNS.filter((c) => c !== 'request_id')
    .map((c) => `${quoted(c)} = EXCLUDED.${quoted(c)}`)
    .join(', ')}, revision = EXCLUDED.revision, updated_at = now()
WHERE r.revision = EXCLUDED.revision - 1
RETURNING request_id`;
}

function quoted(column: string): string {
  return `"${column}"`;
}

/** The record as a row of `audit_evidence_records` (column names; dates as ISO strings). */
function toRow(record: EvidenceRecord): Row {
  return {
    request_id: record.requestId,
    client_id: record.clientId,
    subject: record.subject,
    issuer: record.issuer,
    backchannel_endpoint: record.backchannelEndpoint,
    delivery_mode: record.deliveryMode,
    scope: record.scope,
    acr_values: record.acrValues,
    hint_type: record.hintType,
    user_hint_hash: record.userHintHash,
    binding_message: record.bindingMessage,
    authorization_details_types: record.authorizationDetailsTypes,
    requested_at: record.requestedAt,
    expires_at: record.expiresAt,
    expires_in: record.expiresIn,
    interval: record.interval,
    correlation_id: record.correlationId,
    channels: record.channels,
    callbacks: record.callbacks,
    callback_attempts: record.callbackAttempts,
    decision: record.decision?.outcome ?? null,
    decided_at: record.decision?.at ?? null,
    denial_reason: record.decision?.reason ?? null,
    denial_limit: record.decision?.limit ?? null,
    acr: record.decision?.acr ?? null,
    amr: record.decision?.amr ?? null,
    tokens_issued: record.redemption?.tokens ?? null,
    redeemed_at: record.redemption?.at ?? null,
    token_outcome: record.tokenOutcome,
    access_token_jtis: record.accessTokenJtis,
    downstream: record.downstream,
    event_ids: record.eventIds,
  };
}

function toEvidenceRecord(row: Row): EvidenceRecord {
  const decision = text(row['decision']);
  const redeemedAt = iso(row['redeemed_at']);
  return {
    requestId: text(row['request_id']) ?? '',
    clientId: text(row['client_id']) ?? '',
    subject: text(row['subject']) ?? '',
    issuer: text(row['issuer']),
    backchannelEndpoint: text(row['backchannel_endpoint']),
    deliveryMode: text(row['delivery_mode']) as EvidenceRecord['deliveryMode'],
    scope: (row['scope'] as string[] | null) ?? null,
    acrValues: (row['acr_values'] as string[] | null) ?? null,
    hintType: text(row['hint_type']),
    userHintHash: text(row['user_hint_hash']),
    bindingMessage: text(row['binding_message']),
    authorizationDetailsTypes: (row['authorization_details_types'] as string[] | null) ?? null,
    requestedAt: iso(row['requested_at']),
    expiresAt: iso(row['expires_at']),
    expiresIn: (row['expires_in'] as number | null) ?? null,
    interval: (row['interval'] as number | null) ?? null,
    correlationId: text(row['correlation_id']),
    channels: (row['channels'] as EvidenceChannel[] | null) ?? [],
    callbacks: (row['callbacks'] as EvidenceCallback[] | null) ?? [],
    callbackAttempts: (row['callback_attempts'] as EvidenceCallbackAttempt[] | null) ?? [],
    decision:
      decision === null
        ? null
        : {
            outcome: decision as 'approved' | 'denied' | 'expired',
            at: iso(row['decided_at']) ?? '',
            reason: text(row['denial_reason']),
            limit: text(row['denial_limit']),
            acr: text(row['acr']),
            amr: (row['amr'] as string[] | null) ?? null,
          },
    redemption: redeemedAt === null ? null : { tokens: (row['tokens_issued'] as string[] | null) ?? [], at: redeemedAt },
    tokenOutcome: text(row['token_outcome']) as EvidenceTokenOutcome | null,
    accessTokenJtis: (row['access_token_jtis'] as string[] | null) ?? [],
    // A list of reports; anything else (the column predates the list) counts as none.
    downstream: Array.isArray(row['downstream']) ? (row['downstream'] as EvidenceDownstreamReport[]) : null,
    eventIds: (row['event_ids'] as string[] | null) ?? [],
  };
}

/** A text column (node-postgres gives a string or null). */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function iso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : typeof value === 'string' ? new Date(value).toISOString() : null;
}

