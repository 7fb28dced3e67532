import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit API lists evidence records newest first, a page at a time, from a keyset position
 * (`(requested_at, request_id) < (…)`): this index serves that order and that range when no filter
 * narrows to a client or subject (their own indexes serve those), so a page of the unfiltered list,
 * and every page of an export, reads only its own rows instead of sorting the table.
 */
export class AuditEvidenceRecordsByTime1700002500000 implements MigrationInterface {
  name = 'AuditEvidenceRecordsByTime1700002500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "ix_audit_evidence_records_requested_at" ON "audit_evidence_records" ("requested_at", "request_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_audit_evidence_records_requested_at"`);
  }
}
