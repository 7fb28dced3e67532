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

/** The pruned prefix of the chain: every chained row with seq <= `seq` was removed by `audit_prune`. */
export interface AuditChainPruned {
  readonly seq: number;
  readonly at: Date | null;
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

/** Key (`hashtext`) of the advisory lock one prune run holds, so replicas prune once. */
const PRUNE_RUN_LOCK = 'audit_prune_run';

/** Reads the audit hash chain for verification, stores its signed checkpoints, and prunes it (retention). */
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

  /** How far the chain was pruned (migration 1700002600000); seq 0: never. */
  async pruned(): Promise<AuditChainPruned> {
    const [row] = await queryRows<{ pruned_seq: string; pruned_at: Date | null }>(this.dataSource, `SELECT pruned_seq, pruned_at FROM audit_chain_head WHERE id = 1`);
    if (row === undefined) throw new Error('audit_chain_head is missing its row: run the migrations');
    return { seq: Number(row.pruned_seq), at: row.pruned_at };
  }

  /** The lowest seq in (`afterSeq`, `uptoSeq`] of a row that occurred at or after `cutoff`, or null: all older. */
  async firstSeqOccurredSince(cutoff: Date, afterSeq: number, uptoSeq: number): Promise<number | null> {
    const [row] = await queryRows<{ seq: string | null }>(
      this.dataSource,
      `SELECT min(seq) AS seq FROM audit_records WHERE seq > $1 AND seq <= $2 AND occurred_at >= $3`,
      [afterSeq, uptoSeq, cutoff],
    );
    return row?.seq == null ? null : Number(row.seq);
  }

  /**
   * Removes the next `maxRows` rows (at most) of the prefix up to the checkpoint at `uptoSeq`, through
   * `audit_prune` (migration 1700002600000), which moves the pruned mark with them.
   */
  async pruneChain(uptoSeq: number, maxRows: number): Promise<{ removed: number; prunedSeq: number }> {
    const [row] = await queryRows<{ removed_rows: string; pruned_through: string }>(this.dataSource, `SELECT removed_rows, pruned_through FROM audit_prune($1, $2)`, [
      uptoSeq,
      maxRows,
    ]);
    return { removed: Number(row?.removed_rows ?? 0), prunedSeq: Number(row?.pruned_through ?? 0) };
  }

  /**
   * Evidence records of requests made before `before` (when the request time is unknown: last
   * written before it) none of whose trail rows remains beyond `prunedSeq` (nor outside the chain):
   * removed, `maxRows` at most, or only counted.
   */
  async pruneEvidence(before: Date, prunedSeq: number, maxRows: number, options: { dryRun?: boolean } = {}): Promise<number> {
    const doomed = `SELECT e.request_id FROM audit_evidence_records e
      WHERE (e.requested_at < $1 OR (e.requested_at IS NULL AND e.updated_at < $1))
        AND NOT EXISTS (SELECT 1 FROM audit_records r WHERE r.request_id = e.request_id AND (r.seq IS NULL OR r.seq > $2))`;
    if (options.dryRun) {
      const [row] = await queryRows<{ count: string }>(this.dataSource, `SELECT count(*) AS count FROM (${doomed}) d`, [before, prunedSeq]);
      return Number(row?.count ?? 0);
    }
    const rows = await queryRows(
      this.dataSource,
      `DELETE FROM audit_evidence_records WHERE request_id IN (${doomed} LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING request_id`,
      [before, prunedSeq, maxRows],
    );
    return rows.length;
  }

  /**
   * Runs `work` under the cluster-wide prune lock (a transaction-scoped advisory lock held on its own
   * connection, released at commit or rollback, so also when the process dies); `work` runs its
   * statements on other pool connections, each in its own short transaction. `wait: false`: returns
   * `{ acquired: false }` at once when another replica holds it.
   */
  async withPruneLock<T>(work: () => Promise<T>, options: { wait: boolean }): Promise<{ acquired: true; value: T } | { acquired: false }> {
    return this.dataSource.transaction(async (manager) => {
      if (options.wait) {
        await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [PRUNE_RUN_LOCK]);
      } else {
        const [row] = await manager.query<{ acquired: boolean }[]>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS acquired', [PRUNE_RUN_LOCK]);
        if (!row?.acquired) return { acquired: false as const };
      }
      return { acquired: true as const, value: await work() };
    });
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
