import type { EvidenceCallback, EvidenceCallbackAttempt, EvidenceChannel, EvidenceRecord, EvidenceRecordRepository, EvidenceTokenOutcome } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';
import { canonicalJson } from './audit-chain.js';

type Row = Record<string, unknown>;

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
 * The join only ever adds facts, so a record it would not change was already stored.
 */
export class TypeOrmEvidenceRecordRepository implements EvidenceRecordRepository {
  private readonly known = new Map<string, { readonly record: EvidenceRecord; readonly revision: number }>();

  constructor(private readonly dataSource: DataSource) {}

  async mergeMany(records: readonly EvidenceRecord[], join: (stored: EvidenceRecord, incoming: EvidenceRecord) => EvidenceRecord): Promise<number> {
    const incoming = new Map<string, EvidenceRecord>();
    for (const record of records) {
      const seen = incoming.get(record.requestId);
      incoming.set(record.requestId, seen ? join(seen, record) : record);
    }
    let pending = [...incoming.keys()].sort();
    let changed = 0;
    for (let round = 0; round < MERGE_ROUNDS && pending.length > 0; round++) {
      // First from what this process knows; then, for what another replica changed, from the table.
      const base = new Map<string, { record: EvidenceRecord; revision: number } | null>();
      if (round === 0) {
        for (const id of pending) base.set(id, this.known.get(id) ?? null);
      } else {
        for (const id of pending) base.set(id, null);
        for (const row of await queryRows(this.dataSource, `SELECT * FROM audit_evidence_records WHERE request_id = ANY($1::text[])`, [pending])) {
          base.set(String(row['request_id']), { record: toEvidenceRecord(row), revision: Number(row['revision']) });
        }
      }
      const writes = new Map<string, { record: EvidenceRecord; revision: number }>();
      for (const id of pending) {
        const before = base.get(id) ?? null;
        const after = before ? join(before.record, incoming.get(id)!) : incoming.get(id)!;
        if (before && canonicalJson(toRow(after)) === canonicalJson(toRow(before.record))) continue;
        // The revision this write makes: one past the one joined with (0: no row yet).
        writes.set(id, { record: after, revision: (before?.revision ?? 0) + 1 });
      }
      // What changes nothing needs no write (a redelivery); the rest is written or read again.
      pending = [...writes.keys()];
      if (writes.size === 0) break;
      const rows = [...writes.values()].map(({ record, revision }) => ({ ...toRow(record), revision }));
      const written = await queryRows(
        this.dataSource,
        `INSERT INTO audit_evidence_records AS r (${COLUMNS.map(quoted).join(', ')}, revision)
         SELECT ${COLUMNS.map((c) => `v.${quoted(c)}`).join(', ')}, v.revision
         FROM jsonb_populate_recordset(NULL::audit_evidence_records, $1::jsonb) v
         ON CONFLICT (request_id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'request_id')
           .map((c) => `${quoted(c)} = EXCLUDED.${quoted(c)}`)
           .join(', ')}, revision = EXCLUDED.revision, updated_at = now()
         WHERE r.revision = EXCLUDED.revision - 1
         RETURNING request_id`,
        [JSON.stringify(rows)],
      );
      const done = new Set(written.map((row) => String(row['request_id'])));
      for (const id of done) this.remember(id, writes.get(id)!);
      changed += done.size;
      pending = pending.filter((id) => !done.has(id));
    }
    if (pending.length > 0) throw new Error(`evidence records still contended after ${MERGE_ROUNDS} rounds`);
    return changed;
  }

  private remember(id: string, entry: { readonly record: EvidenceRecord; readonly revision: number }): void {
    this.known.delete(id);
    this.known.set(id, entry);
    if (this.known.size > KNOWN_RECORDS) this.known.delete(this.known.keys().next().value!);
  }

  async find(requestId: string): Promise<EvidenceRecord | null> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM audit_evidence_records WHERE request_id = $1`, [requestId]);
    return rows[0] ? toEvidenceRecord(rows[0]) : null;
  }
}

/** The record's columns, as `toRow` names them. */
const COLUMNS = [
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
  'downstream',
  'event_ids',
] as const;

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
    downstream: (row['downstream'] as Record<string, unknown> | null) ?? null,
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

