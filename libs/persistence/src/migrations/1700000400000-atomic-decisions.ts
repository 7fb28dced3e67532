import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Atomic decisions and a recoverable outcome event. A decision token records the decision it applied
 * (`decision`, set in the same statement as `used_at` and the request's decision), so a device
 * retrying after a crash learns its decision stands. `auth_requests.outcome_published_at` is the
 * outbox marker: set once the approved, denied or expired event is on the bus; the notifier's sweeper
 * republishes settled requests still without it.
 *
 * Existing rows: a used token takes its request's outcome; a token used by the previous two-statement
 * code whose request never got the decision (a crash between the two) is made usable again; settled
 * requests count as announced, as the previous code assumed.
 */
export class AtomicDecisions1700000400000 implements MigrationInterface {
  name = 'AtomicDecisions1700000400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "decision_tokens" ADD "decision" text`);
    await queryRunner.query(
      `UPDATE "decision_tokens" d SET "decision" = CASE r."status" WHEN 'denied' THEN 'denied' ELSE 'approved' END
         FROM "auth_requests" r
        WHERE d."request_id" = r."id" AND d."used_at" IS NOT NULL AND r."status" IN ('approved', 'redeemed', 'denied')`,
    );
    await queryRunner.query(`UPDATE "decision_tokens" SET "used_at" = NULL WHERE "used_at" IS NOT NULL AND "decision" IS NULL`);
    await queryRunner.query(`ALTER TABLE "decision_tokens" ADD CONSTRAINT "ck_decision_tokens_decision" CHECK ("decision" IN ('approved', 'denied'))`);
    await queryRunner.query(`ALTER TABLE "decision_tokens" ADD CONSTRAINT "ck_decision_tokens_used_with_decision" CHECK (("used_at" IS NULL) = ("decision" IS NULL))`);

    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "outcome_published_at" timestamptz`);
    await queryRunner.query(`UPDATE "auth_requests" SET "outcome_published_at" = COALESCE("decided_at", "expires_at") WHERE "status" <> 'pending'`);
    // Holds only settled requests whose event is not confirmed: a handful, whatever the table's size.
    await queryRunner.query(
      `CREATE INDEX "ix_auth_requests_outcome_unpublished" ON "auth_requests" ((COALESCE("decided_at", "expires_at")))
        WHERE "status" <> 'pending' AND "outcome_published_at" IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_auth_requests_outcome_unpublished"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "outcome_published_at"`);
    await queryRunner.query(`ALTER TABLE "decision_tokens" DROP CONSTRAINT "ck_decision_tokens_used_with_decision"`);
    await queryRunner.query(`ALTER TABLE "decision_tokens" DROP CONSTRAINT "ck_decision_tokens_decision"`);
    await queryRunner.query(`ALTER TABLE "decision_tokens" DROP COLUMN "decision"`);
  }
}
