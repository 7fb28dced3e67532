import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Prompt limits in one statement. The notification log (a row per request, counted under an advisory
 * lock in a transaction of five round trips) becomes one row per (client, user) holding the requests
 * counted within the sliding window: claims lock that row, so the count needs no transaction of its
 * own. The counts of the last day are carried over (claims trim them to the configured window). The
 * denial back-off reads only the user's own denials: its index holds just those rows.
 */
export class PromptClaims1700001100000 implements MigrationInterface {
  name = 'PromptClaims1700001100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "client_user_prompts" (
        "client_id" text NOT NULL,
        "subject" text NOT NULL,
        "request_ids" uuid array NOT NULL,
        "sent_at" timestamptz array NOT NULL,
        CONSTRAINT "pk_client_user_prompts" PRIMARY KEY ("client_id", "subject"),
        CONSTRAINT "ck_client_user_prompts_parallel" CHECK (cardinality("request_ids") = cardinality("sent_at"))
      )`);
    await queryRunner.query(
      `INSERT INTO "client_user_prompts" ("client_id", "subject", "request_ids", "sent_at")
       SELECT "client_id", "subject", array_agg("request_id" ORDER BY "sent_at"), array_agg("sent_at" ORDER BY "sent_at")
         FROM "user_notifications" WHERE "sent_at" > now() - interval '1 day'
        GROUP BY "client_id", "subject"`,
    );
    await queryRunner.query(`DROP TABLE "user_notifications"`);
    await queryRunner.query(`DROP INDEX "ix_auth_requests_client_subject_decided_at"`);
    await queryRunner.query(
      `CREATE INDEX "ix_auth_requests_user_denials" ON "auth_requests" ("client_id", "subject", "decided_at") WHERE "denial_reason" IN ('UNAUTHORIZED', 'CANCELLED')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_auth_requests_user_denials"`);
    await queryRunner.query(`CREATE INDEX "ix_auth_requests_client_subject_decided_at" ON "auth_requests" ("client_id", "subject", "decided_at")`);
    await queryRunner.query(`
      CREATE TABLE "user_notifications" (
        "request_id" uuid NOT NULL,
        "subject" text NOT NULL,
        "sent_at" timestamptz NOT NULL,
        "client_id" text NOT NULL,
        CONSTRAINT "pk_user_notifications" PRIMARY KEY ("request_id"),
        CONSTRAINT "fk_user_notifications_request" FOREIGN KEY ("request_id") REFERENCES "auth_requests" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "ix_user_notifications_client_subject" ON "user_notifications" ("client_id", "subject", "sent_at")`);
    await queryRunner.query(
      `INSERT INTO "user_notifications" ("request_id", "subject", "sent_at", "client_id")
       SELECT e."request_id", p."subject", e."sent_at", p."client_id"
         FROM "client_user_prompts" p, unnest(p."request_ids", p."sent_at") AS e("request_id", "sent_at")
        WHERE EXISTS (SELECT 1 FROM "auth_requests" r WHERE r."id" = e."request_id")`,
    );
    await queryRunner.query(`DROP TABLE "client_user_prompts"`);
  }
}
