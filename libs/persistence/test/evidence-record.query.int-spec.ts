import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EvidenceRecordFilter, EvidenceRecordPosition } from '@ciba/domain';
import { TypeOrmEvidenceRecordQuery, createScratchDatabase, evidencePageStatement } from '../src/index.js';
import type { ScratchDatabase } from '../src/index.js';

const ROWS = 20_000;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * Evidence records read back a keyset page at a time (the audit API's store side): every record
 * once, in order, whatever the ties on requested_at; and a page deep into the table is an index
 * range read backwards (no sort of the table), which is what keeps an export linear.
 */
describe('TypeOrmEvidenceRecordQuery: keyset pages of evidence records', () => {
  let db: ScratchDatabase;
  let query: TypeOrmEvidenceRecordQuery;

  beforeAll(async () => {
    db = await createScratchDatabase();
    query = new TypeOrmEvidenceRecordQuery(db.dataSource);
    // 400 distinct instants a microsecond apart: 50 records share each, so pages split ties.
    await db.dataSource.query(
      `INSERT INTO audit_evidence_records (request_id, client_id, subject, requested_at, decision)
       SELECT gen_random_uuid()::text, 'rp-' || (i % 4), 'user-' || (i % 10), timestamptz '2030-01-01T00:00:00Z' + (i % 400) * interval '1 microsecond',
              CASE i % 3 WHEN 0 THEN 'approved' WHEN 1 THEN 'denied' ELSE NULL END
       FROM generate_series(1, $1::int) AS i`,
      [ROWS],
    );
    await db.dataSource.query(`ANALYZE audit_evidence_records`);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  async function walk(filter: EvidenceRecordFilter, limit: number): Promise<string[]> {
    const seen: string[] = [];
    let after: EvidenceRecordPosition | null = null;
    for (;;) {
      const page = await query.page(filter, after, limit);
      seen.push(...page.records.map((r) => r.request_id));
      if (page.next === null) return seen;
      after = page.next;
    }
  }

  it('walks every record once, newest first, through ties a microsecond apart', async () => {
    const seen = await walk({}, 777);
    expect(seen).toHaveLength(ROWS);
    const expected = await db.dataSource.query<{ request_id: string }[]>(`SELECT request_id FROM audit_evidence_records ORDER BY requested_at DESC, request_id DESC`);
    expect(seen).toEqual(expected.map((row) => row.request_id));
  });

  it('walks a filtered set (client, decision pending) completely and only it', async () => {
    const seen = await walk({ clientId: 'rp-1', decision: 'pending' }, 333);
    const [{ count }] = await db.dataSource.query<{ count: string }[]>(`SELECT count(*) FROM audit_evidence_records WHERE client_id = 'rp-1' AND decision IS NULL`);
    expect(seen).toHaveLength(Number(count));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('keeps requested_at to the microsecond in the position and shows it as ISO 8601', async () => {
    const page = await query.page({}, null, 1);
    expect(page.next?.requestedAt).toBe('2030-01-01T00:00:00.000399Z');
    expect(page.records[0].requested_at).toBe('2030-01-01T00:00:00.000Z');
  });

  it('a page deep into the table is an index range scanned backwards, with no sort', async () => {
    const position = { requestedAt: '2030-01-01T00:00:00.000007Z', requestId: randomUUID() };
    const { sql, parameters } = evidencePageStatement({}, position, 101);
    const [{ 'QUERY PLAN': plan }] = await db.dataSource.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(`EXPLAIN (FORMAT JSON) ${sql}`, parameters);
    const all = nodes(plan[0].Plan);
    expect(all.map((n) => n['Node Type'])).not.toContain('Sort');
    expect(all).toContainEqual(expect.objectContaining({ 'Node Type': 'Index Scan', 'Index Name': 'ix_audit_evidence_records_requested_at', 'Scan Direction': 'Backward' }));
  });
});
