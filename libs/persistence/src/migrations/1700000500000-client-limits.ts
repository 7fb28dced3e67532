import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Limits scoped to the client: the notification log gains the client (prompt limits per client and
 * user replace the per-user limit that one client could use up for all), a per-client prompt counter
 * in fixed windows, an index for the back-off after a user's recent denials, and the counter of
 * failed client authentications (per hashed client id or source address, fixed windows).
 */
export class ClientLimits1700000500000 implements MigrationInterface {
  name = 'ClientLimits1700000500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "user_notifications" ADD "client_id" text`);
    await queryRunner.query(`UPDATE "user_notifications" n SET "client_id" = r."client_id" FROM "auth_requests" r WHERE r."id" = n."request_id"`);
    await queryRunner.query(`ALTER TABLE "user_notifications" ALTER COLUMN "client_id" SET NOT NULL`);
    await queryRunner.query(`DROP INDEX "ix_user_notifications_subject"`);
    await queryRunner.query(`CREATE INDEX "ix_user_notifications_client_subject" ON "user_notifications" ("client_id", "subject", "sent_at")`);
    await queryRunner.query(`CREATE INDEX "ix_auth_requests_client_subject_decided_at" ON "auth_requests" ("client_id", "subject", "decided_at")`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "denial_limit" text`);
    await queryRunner.query(
      `ALTER TABLE "auth_requests" ADD CONSTRAINT "ck_auth_requests_denial_limit" CHECK (denial_limit IN ('client_user', 'client', 'denial_backoff'))`,
    );
    await queryRunner.query(`
      CREATE TABLE "client_prompt_windows" (
        "client_id" text NOT NULL,
        "window_start" timestamptz NOT NULL,
        "prompts" integer NOT NULL,
        CONSTRAINT "pk_client_prompt_windows" PRIMARY KEY ("client_id", "window_start")
      )`);
    await queryRunner.query(`
      CREATE TABLE "client_auth_failures" (
        "key_hash" text NOT NULL,
        "window_start" timestamptz NOT NULL,
        "failures" integer NOT NULL,
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "pk_client_auth_failures" PRIMARY KEY ("key_hash", "window_start")
      )`);
    await queryRunner.query(`CREATE INDEX "ix_client_auth_failures_expires_at" ON "client_auth_failures" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "client_auth_failures"`);
    await queryRunner.query(`DROP TABLE "client_prompt_windows"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP CONSTRAINT "ck_auth_requests_denial_limit"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "denial_limit"`);
    await queryRunner.query(`DROP INDEX "ix_auth_requests_client_subject_decided_at"`);
    await queryRunner.query(`DROP INDEX "ix_user_notifications_client_subject"`);
    await queryRunner.query(`CREATE INDEX "ix_user_notifications_subject" ON "user_notifications" ("subject", "sent_at")`);
    await queryRunner.query(`ALTER TABLE "user_notifications" DROP COLUMN "client_id"`);
  }
}
