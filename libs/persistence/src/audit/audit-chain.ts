import { createHash } from 'node:crypto';
import type { AuditRecord } from '@ciba/domain';

/**
 * The audit trail as a hash chain. Each appended row gets the next sequence number and
 *
 *   hash = SHA-256(prev_hash || SHA-256(canonical(row)) || seq as 8-byte big-endian)
 *
 * where `prev_hash` is the previous entry's hash (the genesis hash for seq 1) and `canonical(row)`
 * is the canonical JSON (keys sorted, no whitespace) of every stored column that matters. The row
 * digest is computed here; the outer hash is the same whether computed here (the verifier) or by
 * PostgreSQL's `sha256()` in the append statement, which chains a batch against the head in one
 * statement. Hashes are lower-case hex.
 *
 * Editing a row changes its recomputed hash; deleting one leaves a gap in seq; moving one breaks the
 * `prev_hash` link of the row now in its place. Rewriting the chain consistently after the edit is
 * what the signed checkpoints (`audit_checkpoints`) defend against.
 */
export const AUDIT_CHAIN_GENESIS_HASH = '0'.repeat(64);

/** Version of `canonical(row)`; part of every hashed entry, so a future format cannot be confused with this one. */
const CHAIN_FORMAT = 1;

/** JSON with object keys sorted (code-unit order), no whitespace; `undefined` members dropped as `JSON.stringify` does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined && typeof member !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}

/** What one chain entry commits to: the row as stored (the payload as it reads back from jsonb). */
export interface ChainedRow {
  readonly eventId: string;
  readonly type: string;
  readonly requestId: string | null;
  readonly clientId: string | null;
  readonly deviceId: string | null;
  readonly subject: string;
  readonly occurredAt: Date;
  readonly correlationId: string | null;
  readonly payload: unknown;
}

/** SHA-256 (hex) of `canonical(row)`: what the entry's hash commits to besides its place in the chain. */
export function auditRowDigest(row: ChainedRow): string {
  const canonical = canonicalJson({
    format: CHAIN_FORMAT,
    eventId: row.eventId,
    type: row.type,
    requestId: row.requestId,
    clientId: row.clientId,
    deviceId: row.deviceId,
    subject: row.subject,
    occurredAt: row.occurredAt.toISOString(),
    correlationId: row.correlationId,
    payload: row.payload,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The entry hash of `row` at `seq` after an entry hashed `prevHash` (see the definition above). */
export function auditEntryHash(prevHash: string, seq: number, row: ChainedRow): string {
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigInt64BE(BigInt(seq));
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(Buffer.from(auditRowDigest(row), 'hex')).update(seqBytes).digest('hex');
}

/** The digest of a record about to be appended, its payload as it will read back from jsonb (a JSON round trip). */
export function auditRecordDigest(record: AuditRecord): string {
  return auditRowDigest({
    eventId: record.eventId,
    type: record.type,
    requestId: record.requestId,
    clientId: record.clientId,
    deviceId: record.deviceId ?? null,
    subject: record.subject,
    occurredAt: record.occurredAt,
    correlationId: record.correlationId,
    payload: JSON.parse(JSON.stringify(record.payload)) as unknown,
  });
}
