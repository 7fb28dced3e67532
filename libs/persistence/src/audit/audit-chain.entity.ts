import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/** The single row holding the audit hash chain's last entry (see `audit-chain.ts`); appends lock it. */
@Entity({ name: 'audit_chain_head' })
@Check('ck_audit_chain_head_single_row', `"id" = 1`)
export class AuditChainHeadEntity {
  @PrimaryColumn({ name: 'id', type: 'smallint', primaryKeyConstraintName: 'pk_audit_chain_head' })
  id!: number;

  @Column({ name: 'seq', type: 'bigint' })
  seq!: string;

  @Column({ name: 'hash', type: 'text' })
  hash!: string;

  /** Rows recorded before the chain began (seq null), counted when it began. */
  @Column({ name: 'unchained_rows', type: 'bigint' })
  unchainedRows!: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt!: Date;

  /** Chained rows up to this seq were pruned (`audit_prune`, migration 1700002600000); 0: none. */
  @Column({ name: 'pruned_seq', type: 'bigint', default: 0 })
  prunedSeq!: string;

  @Column({ name: 'pruned_at', type: 'timestamptz', nullable: true })
  prunedAt!: Date | null;
}

/** A signed checkpoint of the audit hash chain: the chain up to `seq` had `hash` at `signed_at`. */
@Entity({ name: 'audit_checkpoints' })
export class AuditCheckpointEntity {
  @PrimaryColumn({ name: 'seq', type: 'bigint', primaryKeyConstraintName: 'pk_audit_checkpoints' })
  seq!: string;

  @Column({ name: 'hash', type: 'text' })
  hash!: string;

  @Column({ name: 'signed_at', type: 'timestamptz' })
  signedAt!: Date;

  /** Compact JWS over `{seq, hash, iat}` by the provider's signing key. */
  @Column({ name: 'jws', type: 'text' })
  jws!: string;
}
