import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';
import { auditEntryHash } from './audit-chain.js';

/** One stored chain entry, with the hash recomputed from the row as it reads now. Ids only: no payload. */
export interface AuditChainEntry {
  readonly seq: number;
  readonly eventId: string;
  readonly prevHash: string;
  readonly hash: string;
  /** `SHA-256(prev_hash || canonical(row))` over the stored columns, as they are now. */
  readonly recomputedHash: string;
}

export interface AuditChainHead {
  readonly seq: number;
  readonly hash: string;
  /** Rows recorded before the chain began, never chained (counted when it began). */
  readonly unchainedRows: number;
  /** Rows without a place in the chain now (seq null): more than `unchainedRows` were slipped in around it. */
  readonly rowsOutsideChain: number;
}

export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly signedAt: Date;
  readonly jws: string;
}

export interface SealedSigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly encryptedPrivateJwk: string;
}

interface ChainRow {
  seq: string;
  event_id: string;
  type: string;
  request_id: string | null;
  client_id: string | null;
  device_id: string | null;
  subject: string;
  occurred_at: Date;
  correlation_id: string | null;
  payload: unknown;
  prev_hash: string;
  hash: string;
}

interface CheckpointRow {
  seq: string;
  hash: string;
  signed_at: Date;
  jws: string;
}

const PAGE_SIZE = 1000;

/** Reads the audit hash chain for verification, and stores its signed checkpoints. */
export class TypeOrmAuditChain {
  constructor(private readonly dataSource: DataSource) {}

  async head(): Promise<AuditChainHead> {
    const [row] = await queryRows<{ seq: string; hash: string; unchained_rows: string; outside: string }>(
      this.dataSource,
      `SELECT seq, hash, unchained_rows, (SELECT count(*) FROM audit_records WHERE seq IS NULL) AS outside FROM audit_chain_head WHERE id = 1`,
    );
    if (row === undefined) throw new Error('audit_chain_head is missing its row: run the migrations');
    return { seq: Number(row.seq), hash: row.hash, unchainedRows: Number(row.unchained_rows), rowsOutsideChain: Number(row.outside) };
  }

  /** Chained rows with seq > `afterSeq`, in seq order, a page at a time. */
  async *entries(afterSeq: number): AsyncGenerator<AuditChainEntry> {
    let cursor = afterSeq;
    for (;;) {
      const rows = await queryRows<ChainRow>(
        this.dataSource,
        `SELECT seq, event_id, type, request_id, client_id, device_id, subject, occurred_at, correlation_id, payload, prev_hash, hash
         FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [cursor, PAGE_SIZE],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        const recomputedHash = auditEntryHash(row.prev_hash ?? '', seq, {
          eventId: row.event_id,
          type: row.type,
          requestId: row.request_id,
          clientId: row.client_id,
          deviceId: row.device_id,
          subject: row.subject,
          occurredAt: row.occurred_at,
          correlationId: row.correlation_id,
          payload: row.payload,
        });
        yield { seq, eventId: row.event_id, prevHash: row.prev_hash ?? '', hash: row.hash ?? '', recomputedHash };
        cursor = seq;
      }
      if (rows.length < PAGE_SIZE) return;
    }
  }

  /** Every checkpoint, oldest first. */
  async checkpoints(): Promise<AuditCheckpoint[]> {
    const rows = await queryRows<CheckpointRow>(this.dataSource, `SELECT seq, hash, signed_at, jws FROM audit_checkpoints ORDER BY seq`);
    return rows.map(toCheckpoint);
  }

  async latestCheckpoint(): Promise<AuditCheckpoint | null> {
    const [row] = await queryRows<CheckpointRow>(this.dataSource, `SELECT seq, hash, signed_at, jws FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`);
    return row === undefined ? null : toCheckpoint(row);
  }

  /** Stores a checkpoint; another replica's checkpoint of the same seq wins (returns false). */
  async insertCheckpoint(checkpoint: AuditCheckpoint): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `INSERT INTO audit_checkpoints (seq, hash, signed_at, jws) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING RETURNING seq`,
      [checkpoint.seq, checkpoint.hash, checkpoint.signedAt, checkpoint.jws],
    );
    return rows.length === 1;
  }

  /**
   * Every signing key ever stored, unpublished ones included (a checkpoint must stay verifiable long
   * after its key stopped signing tokens), as stored: the private JWK sealed with the key-encryption
   * key. A verifier trusts only the keys it can unseal, never a public JWK planted in the table.
   */
  async sealedSigningKeys(): Promise<SealedSigningKey[]> {
    const rows = await queryRows<{ kid: string; alg: string; encrypted_private_jwk: string }>(
      this.dataSource,
      `SELECT kid, alg, encrypted_private_jwk FROM signing_keys ORDER BY created_at`,
    );
    return rows.map((row) => ({ kid: row.kid, alg: row.alg, encryptedPrivateJwk: row.encrypted_private_jwk }));
  }
}

function toCheckpoint(row: CheckpointRow): AuditCheckpoint {
  return { seq: Number(row.seq), hash: row.hash, signedAt: row.signed_at, jws: row.jws };
}
