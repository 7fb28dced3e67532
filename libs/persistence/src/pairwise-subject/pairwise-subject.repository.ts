import type { PairwiseSubjectMap } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

/** Mappings this process already knows to be stored: re-issuing to a known user then costs no statement. */
const RECORDED_MEMO_LIMIT = 10_000;

/**
 * The pairwise subjects issued per sector (`pairwise_subjects`). Recording is one
 * `INSERT … ON CONFLICT DO NOTHING`: idempotent, and concurrent issuers of the same mapping (two
 * replicas, two clients of one sector) both succeed. Rows are never updated: a pairwise sub is a
 * function of its sector and user, so a conflicting row already holds the same user.
 */
export class PostgresPairwiseSubjects implements PairwiseSubjectMap {
  private readonly recorded = new Set<string>();

  constructor(private readonly dataSource: DataSource) {}

  async record(sectorIdentifier: string, pairwiseSub: string, sub: string): Promise<void> {
    const memoKey = `${sectorIdentifier}\u0000${pairwiseSub}`;
    if (this.recorded.has(memoKey)) return;
    await queryRows(
      this.dataSource,
      `INSERT INTO pairwise_subjects (sector_identifier, pairwise_sub, sub) VALUES ($1, $2, $3) ON CONFLICT (sector_identifier, pairwise_sub) DO NOTHING`,
      [sectorIdentifier, pairwiseSub, sub],
    );
    if (this.recorded.size >= RECORDED_MEMO_LIMIT) this.recorded.clear();
    this.recorded.add(memoKey);
  }

  async localSubject(sectorIdentifier: string, pairwiseSub: string): Promise<string | null> {
    const rows = await queryRows<{ sub: string }>(
      this.dataSource,
      `SELECT sub FROM pairwise_subjects WHERE sector_identifier = $1 AND pairwise_sub = $2`,
      [sectorIdentifier, pairwiseSub],
    );
    return rows[0]?.sub ?? null;
  }
}
