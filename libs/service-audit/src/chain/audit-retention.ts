import { type ChainBreak, GENESIS_HASH, type VerifiableEntry } from './audit-chain-verifier.js';

/** What pruning reads and removes (the persistence lib's `TypeOrmAuditChain`). */
export interface AuditRetentionStore {
  checkpoints(): Promise<readonly { seq: number; hash: string; signedAt: Date }[]>;
  pruned(): Promise<{ seq: number; at: Date | null }>;
  entries(afterSeq: number): AsyncIterable<VerifiableEntry>;
  firstSeqOccurredSince(cutoff: Date, afterSeq: number, uptoSeq: number): Promise<number | null>;
  pruneChain(uptoSeq: number, maxRows: number): Promise<{ removed: number; prunedSeq: number }>;
  pruneEvidence(before: Date, prunedSeq: number, maxRows: number, options?: { dryRun?: boolean }): Promise<number>;
  withPruneLock<T>(work: () => Promise<T>, options: { wait: boolean }): Promise<{ acquired: true; value: T } | { acquired: false }>;
}

export interface PruneOptions {
  /** Count and check only; nothing is removed. */
  readonly dryRun?: boolean;
  /** Chained rows (and, separately, evidence records) removed at most in this run; the rest waits for the next. */
  readonly maxRows?: number;
  /** Wait for a prune running elsewhere (an operator's command) instead of leaving the run to it (a replica's schedule). */
  readonly wait?: boolean;
}

export type PruneReport =
  /** Another replica holds the prune lock: it prunes; this run did nothing. */
  | { readonly outcome: 'busy' }
  | {
      /** `pruned`: done (or, dry run, possible) up to `checkpointSeq`; `partial`: the run's budget ran out before it. */
      readonly outcome: 'pruned' | 'partial';
      readonly cutoff: Date;
      /** The newest checkpoint signed before the cutoff whose rows all occurred before it; null: none yet. */
      readonly checkpointSeq: number | null;
      /** Chained rows pruned before this run, and after it (dry run: would be). */
      readonly prunedBefore: number;
      readonly prunedAfter: number;
      /** Chained rows removed by this run (dry run: to be removed). */
      readonly rows: number;
      /** Evidence records removed by this run (dry run: to be removed). */
      readonly evidenceRecords: number;
    }
  /**
   * The rows about to be pruned do not verify (edited, deleted or reordered, or the checkpoint's row
   * rewritten): nothing past the last good checkpoint is removed, so the evidence of the break stays.
   */
  | { readonly outcome: 'refused'; readonly cutoff: Date; readonly broken: ChainBreak; readonly rows: number };

/** Rows per `audit_prune` statement: each a short transaction, so appends and readers are never held long. */
export const PRUNE_BATCH_ROWS = 1000;
/** A scheduled run removes at most this many rows (and evidence records); a backlog takes several runs. */
export const PRUNE_MAX_ROWS_PER_RUN = 100_000;

const DAY_MS = 86_400_000;

/** The retention cutoff: `days` before `now`; null when `days` is 0 (keep forever). */
export function retentionCutoff(now: Date, days: number): Date | null {
  return days > 0 ? new Date(now.getTime() - days * DAY_MS) : null;
}

/**
 * Retention of the audit trail (`CIBA_AUDIT_RETENTION_DAYS`). Pruning removes a prefix of the hash
 * chain, and only up to a signed checkpoint: the newest checkpoint signed before the cutoff whose
 * rows all occurred before it. The checkpoints stay, so `verify` starts from the oldest one at or
 * after the pruned prefix and checks everything after it as before.
 *
 * Before removing them, the rows are verified against the checkpoint they lead to (gap-free, each
 * linked to the previous one and matching its hash, the last carrying the checkpoint's hash):
 * pruning a broken segment would erase the evidence of the break, so it is refused instead.
 *
 * Evidence records go once their request was made before the cutoff and none of its trail rows
 * remains: a record is never older than the trail that supports it, nor kept after it.
 */
export class AuditRetention {
  constructor(private readonly store: AuditRetentionStore) {}

  async prune(cutoff: Date, options: PruneOptions = {}): Promise<PruneReport> {
    const locked = await this.store.withPruneLock(() => this.pruneLocked(cutoff, options), { wait: options.wait ?? false });
    return locked.acquired ? locked.value : { outcome: 'busy' };
  }

  private async pruneLocked(cutoff: Date, options: PruneOptions): Promise<PruneReport> {
    const dryRun = options.dryRun ?? false;
    const budget = options.maxRows ?? Number.POSITIVE_INFINITY;
    const prunedBefore = (await this.store.pruned()).seq;
    const checkpoints = await this.store.checkpoints();
    const target = await this.newestPrunable(cutoff, prunedBefore, checkpoints);

    let marker = prunedBefore;
    let rows = 0;
    let partial = false;
    if (target !== null) {
      const known = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint.hash]));
      for (const checkpoint of checkpoints) {
        if (checkpoint.seq <= marker) continue;
        if (checkpoint.seq > target) break;
        const broken = await this.verifySegment(marker, marker === 0 ? GENESIS_HASH : (known.get(marker) ?? null), checkpoint);
        if (broken !== null) return { outcome: 'refused', cutoff, broken, rows };
        if (dryRun) {
          rows += checkpoint.seq - marker;
          marker = checkpoint.seq;
          continue;
        }
        while (marker < checkpoint.seq && rows < budget) {
          const { removed, prunedSeq } = await this.store.pruneChain(checkpoint.seq, Math.min(PRUNE_BATCH_ROWS, budget - rows));
          rows += removed;
          // A prune through another path (an operator's command without the lock) moved it further.
          if (prunedSeq <= marker) break;
          marker = prunedSeq;
        }
        if (marker < checkpoint.seq) {
          partial = true;
          break;
        }
      }
    }

    let evidenceRecords = 0;
    if (dryRun) {
      evidenceRecords = await this.store.pruneEvidence(cutoff, marker, 0, { dryRun: true });
    } else {
      for (;;) {
        const room = Math.min(PRUNE_BATCH_ROWS, budget - evidenceRecords);
        if (room <= 0) break;
        const removed = await this.store.pruneEvidence(cutoff, marker, room);
        evidenceRecords += removed;
        if (removed < room) break;
      }
    }
    return { outcome: partial ? 'partial' : 'pruned', cutoff, checkpointSeq: target, prunedBefore, prunedAfter: marker, rows, evidenceRecords };
  }

  /** The newest checkpoint past the pruned prefix, signed before `cutoff`, whose rows all occurred before it. */
  private async newestPrunable(cutoff: Date, prunedSeq: number, checkpoints: readonly { seq: number; signedAt: Date }[]): Promise<number | null> {
    const candidates = checkpoints.filter((checkpoint) => checkpoint.seq > prunedSeq && checkpoint.signedAt.getTime() < cutoff.getTime()).map((c) => c.seq);
    if (candidates.length === 0) return null;
    // An event stamped later than its append (a publisher's clock ahead) keeps its checkpoint's rows.
    const firstRecent = await this.store.firstSeqOccurredSince(cutoff, prunedSeq, candidates[candidates.length - 1]);
    const prunable = firstRecent === null ? candidates : candidates.filter((seq) => seq < firstRecent);
    return prunable.length === 0 ? null : prunable[prunable.length - 1];
  }

  /**
   * The rows after `fromSeq` up to `checkpoint.seq`: gap-free, each linked to the previous one (the
   * first to `fromHash`, unless it is unknown: a prune stopped in the middle) and matching its hash,
   * the last carrying the checkpoint's hash. The first broken link, or null.
   */
  private async verifySegment(fromSeq: number, fromHash: string | null, checkpoint: { seq: number; hash: string }): Promise<ChainBreak | null> {
    let prev = { seq: fromSeq, hash: fromHash };
    for await (const entry of this.store.entries(fromSeq)) {
      if (entry.seq > checkpoint.seq) break;
      if (entry.seq !== prev.seq + 1) return { kind: 'deleted', afterSeq: prev.seq, nextSeq: entry.seq };
      if (prev.hash !== null && entry.prevHash !== prev.hash) return { kind: 'reordered', seq: entry.seq, eventId: entry.eventId };
      if (entry.recomputedHash !== entry.hash) return { kind: 'edited', seq: entry.seq, eventId: entry.eventId };
      prev = { seq: entry.seq, hash: entry.hash };
      if (entry.seq === checkpoint.seq) break;
    }
    if (prev.seq < checkpoint.seq) return { kind: 'deleted', afterSeq: prev.seq, nextSeq: null };
    if (prev.hash !== checkpoint.hash) return { kind: 'checkpoint-mismatch', seq: checkpoint.seq };
    return null;
  }
}
