import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_CHAIN_GENESIS_HASH } from '../audit/audit-chain.js';

/**
 * Tamper evidence for the audit trail (see `audit/audit-chain.ts`).
 *
 * audit_records.seq / prev_hash / hash: each appended row's place in the one hash chain and the link
 * to its predecessor. Rows recorded before this migration keep them null: they are not rewritten,
 * and the chain starts after them from a fixed genesis hash; `audit_chain_head.unchained_rows`
 * records how many there were, and `ciba-admin audit verify` reports that count.
 *
 * audit_chain_head: a single row, the last entry's seq and hash. The statement-level trigger
 * `audit_chain_advance` moves it with every insert into audit_records, in the same statement, and
 * refuses an insert whose rows do not continue the chain from the head: seq consecutive from
 * head.seq + 1, the first prev_hash the head's hash, each next prev_hash the previous row's hash.
 * A replica that lost a race gets `40001` (or a unique violation on seq) and recomputes its batch;
 * so every audit replica extends one gap-free chain, and no row enters unchained.
 *
 * audit_checkpoints: `{seq, hash, time}` signed by the provider's signing key (a compact JWS), so a
 * later verification can start from one once older rows have been pruned.
 */
export class AuditChain1700002400000 implements MigrationInterface {
  name = 'AuditChain1700002400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_records" ADD COLUMN "seq" bigint, ADD COLUMN "prev_hash" text, ADD COLUMN "hash" text`);
    await queryRunner.query(`CREATE UNIQUE INDEX "ux_audit_records_seq" ON "audit_records" ("seq")`);
    await queryRunner.query(`CREATE TABLE "audit_chain_head" (
      "id" smallint NOT NULL,
      "seq" bigint NOT NULL,
      "hash" text NOT NULL,
      "unchained_rows" bigint NOT NULL,
      "started_at" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT "pk_audit_chain_head" PRIMARY KEY ("id"),
      CONSTRAINT "ck_audit_chain_head_single_row" CHECK ("id" = 1)
    )`);
    await queryRunner.query(`INSERT INTO "audit_chain_head" ("id", "seq", "hash", "unchained_rows") SELECT 1, 0, $1, count(*) FROM "audit_records"`, [
      AUDIT_CHAIN_GENESIS_HASH,
    ]);
    await queryRunner.query(`CREATE FUNCTION audit_chain_advance() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        rows bigint;
        first_seq bigint;
        last_seq bigint;
        moved bigint;
      BEGIN
        SELECT count(*), min(seq), max(seq) INTO rows, first_seq, last_seq FROM appended;
        IF rows = 0 THEN
          RETURN NULL;
        END IF;
        IF EXISTS (SELECT 1 FROM appended WHERE seq IS NULL OR prev_hash IS NULL OR hash IS NULL) OR last_seq - first_seq + 1 <> rows THEN
          RAISE EXCEPTION 'audit_records: appended rows must carry consecutive seq, prev_hash and hash' USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM (SELECT prev_hash, lag(hash) OVER (ORDER BY seq) AS prior FROM appended) links WHERE links.prior <> links.prev_hash) THEN
          RAISE EXCEPTION 'audit_records: each appended row must link to the previous one' USING ERRCODE = 'check_violation';
        END IF;
        UPDATE audit_chain_head h SET seq = last_seq, hash = (SELECT hash FROM appended WHERE seq = last_seq)
          WHERE h.id = 1 AND h.seq = first_seq - 1 AND h.hash = (SELECT prev_hash FROM appended WHERE seq = first_seq);
        GET DIAGNOSTICS moved = ROW_COUNT;
        IF moved <> 1 THEN
          RAISE EXCEPTION 'audit chain head moved: recompute the batch' USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN NULL;
      END
    $$`);
    await queryRunner.query(
      `CREATE TRIGGER audit_chain_advance AFTER INSERT ON "audit_records" REFERENCING NEW TABLE AS appended FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_advance()`,
    );
    await queryRunner.query(`CREATE TABLE "audit_checkpoints" (
      "seq" bigint NOT NULL,
      "hash" text NOT NULL,
      "signed_at" timestamptz NOT NULL,
      "jws" text NOT NULL,
      CONSTRAINT "pk_audit_checkpoints" PRIMARY KEY ("seq")
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_checkpoints"`);
    await queryRunner.query(`DROP TRIGGER audit_chain_advance ON "audit_records"`);
    await queryRunner.query(`DROP FUNCTION audit_chain_advance()`);
    await queryRunner.query(`DROP TABLE "audit_chain_head"`);
    await queryRunner.query(`DROP INDEX "ux_audit_records_seq"`);
    await queryRunner.query(`ALTER TABLE "audit_records" DROP COLUMN "hash", DROP COLUMN "prev_hash", DROP COLUMN "seq"`);
  }
}
