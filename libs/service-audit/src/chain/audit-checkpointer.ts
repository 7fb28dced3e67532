import type { Clock } from '@ciba/domain';
import type { KeyStore } from '@ciba/tokens';
import { signCheckpoint } from './audit-checkpoint.js';

/** Where checkpoints come from and go (the persistence lib's `TypeOrmAuditChain`). */
export interface AuditCheckpointStore {
  head(): Promise<{ seq: number; hash: string }>;
  latestCheckpoint(): Promise<{ seq: number; signedAt: Date } | null>;
  insertCheckpoint(checkpoint: { seq: number; hash: string; signedAt: Date; jws: string }): Promise<boolean>;
}

export interface AuditCheckpointPolicy {
  /** Sign once this many entries were appended since the last checkpoint… */
  readonly every: number;
  /** …or once this many seconds passed since it, when any entry was appended. */
  readonly seconds: number;
}

/**
 * Signs the chain head as a checkpoint when the policy says one is due. Safe on every replica at
 * once: checkpoints are keyed by seq, and a head is read in one statement (seq and hash together).
 */
export class AuditCheckpointer {
  constructor(
    private readonly store: AuditCheckpointStore,
    private readonly keyStore: KeyStore,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly policy: AuditCheckpointPolicy,
  ) {}

  /** The seq checkpointed now, or null when none was due. */
  async checkpointIfDue(): Promise<number | null> {
    const head = await this.store.head();
    const last = await this.store.latestCheckpoint();
    const lastSeq = last?.seq ?? 0;
    if (head.seq <= lastSeq) return null;
    const now = this.clock.now();
    const dueByCount = head.seq - lastSeq >= this.policy.every;
    const dueByTime = last === null || now.getTime() - last.signedAt.getTime() >= this.policy.seconds * 1000;
    if (!dueByCount && !dueByTime) return null;
    const jws = await signCheckpoint(this.keyStore, this.issuer, { seq: head.seq, hash: head.hash, signedAt: now });
    await this.store.insertCheckpoint({ seq: head.seq, hash: head.hash, signedAt: now, jws });
    return head.seq;
  }
}
