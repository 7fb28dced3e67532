import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention of the audit hash chain (`CIBA_AUDIT_RETENTION_DAYS`): the oldest rows may go, but only
 * as a prefix ending at a signed checkpoint, so what stays verifies from that checkpoint.
 *
 * audit_chain_head.pruned_seq / pruned_at: every chained row with seq <= pruned_seq was removed by
 * the prune, last at pruned_at. `verify` starts there, from the oldest checkpoint at or after it: a
 * row missing above it is a deleted row, as before; only the recorded prefix counts as pruned.
 *
 * audit_prune(upto_seq, max_rows): the one path that prunes. It removes the next `max_rows` rows
 * (at most) of the prefix, lowest seq first, and moves `pruned_seq` with them in the same
 * statement; `upto_seq` must be a stored checkpoint within the head whose row still carries the
 * checkpoint's hash. Calls are serialised by a transaction-scoped advisory lock (the head row is
 * only touched for the moment of its update, so appends are not held). SECURITY DEFINER and not
 * executable by PUBLIC: a deployment may deny its services' role DELETE on audit_records and grant
 * it EXECUTE on this function alone.
 */
export class AuditRetention1700002600000 implements MigrationInterface {
  name = 'AuditRetention1700002600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_chain_head" ADD COLUMN "pruned_seq" bigint NOT NULL DEFAULT 0, ADD COLUMN "pruned_at" timestamptz`);
    await queryRunner.query(`CREATE FUNCTION audit_prune(upto_seq bigint, max_rows integer, OUT removed_rows bigint, OUT pruned_through bigint)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      DECLARE
        done bigint;
        last_seq bigint;
      BEGIN
        IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000 THEN
          RAISE EXCEPTION 'audit_prune: max_rows must be between 1 and 100000' USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM pg_advisory_xact_lock(hashtext('audit_prune_batch'));
        IF NOT EXISTS (
          SELECT 1 FROM audit_checkpoints c JOIN audit_records r ON r.seq = c.seq AND r.hash = c.hash
          WHERE c.seq = upto_seq AND c.seq <= (SELECT h.seq FROM audit_chain_head h WHERE h.id = 1)
        ) AND upto_seq > (SELECT h.pruned_seq FROM audit_chain_head h WHERE h.id = 1) THEN
          RAISE EXCEPTION 'audit_prune: % is not the seq of a stored checkpoint matching its row', upto_seq USING ERRCODE = 'check_violation';
        END IF;
        SELECT h.pruned_seq INTO done FROM audit_chain_head h WHERE h.id = 1;
        removed_rows := 0;
        pruned_through := done;
        IF upto_seq <= done THEN
          RETURN;
        END IF;
        last_seq := least(upto_seq, done + max_rows);
        DELETE FROM audit_records WHERE seq > done AND seq <= last_seq;
        GET DIAGNOSTICS removed_rows = ROW_COUNT;
        UPDATE audit_chain_head SET pruned_seq = last_seq, pruned_at = now() WHERE id = 1;
        pruned_through := last_seq;
      END
    $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION audit_prune(bigint, integer) FROM PUBLIC`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION audit_prune(bigint, integer)`);
    await queryRunner.query(`ALTER TABLE "audit_chain_head" DROP COLUMN "pruned_at", DROP COLUMN "pruned_seq"`);
  }
}
