import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * OpenID Connect Core §8.1: a pairwise `sub` issued within a sector, and the user it stands for.
 * Keyed by (sector, pairwise sub), so a pairwise sub resolves only within the sector it was issued
 * for; written when the provider first issues it, never updated.
 */
@Entity({ name: 'pairwise_subjects' })
export class PairwiseSubjectEntity {
  @PrimaryColumn({ name: 'sector_identifier', type: 'text', primaryKeyConstraintName: 'pk_pairwise_subjects' })
  sectorIdentifier!: string;

  @PrimaryColumn({ name: 'pairwise_sub', type: 'text', primaryKeyConstraintName: 'pk_pairwise_subjects' })
  pairwiseSub!: string;

  /** The user's own `sub` (users.sub). */
  @Column({ name: 'sub', type: 'text' })
  sub!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
