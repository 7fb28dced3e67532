import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * CIBA Core 1.0 §7.1 user_code.
 *
 * users.user_code_hash: the user's secret code as a scrypt hash (tokens lib `SecretHasher`), never
 * the code itself; null when none is set. Nullable, no default: nothing is rewritten.
 *
 * user_code_attempts: verifications of a user's code in the current window, one row per key (a
 * digest of the user's sub, or of the hint when it names nobody), bumped by one atomic upsert before
 * each verification so concurrent guesses on any replica are all counted; `locked_until` is set once
 * the window's limit is used up.
 */
export class UserCodes1700001500000 implements MigrationInterface {
  name = 'UserCodes1700001500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "user_code_hash" text`);
    await queryRunner.query(`CREATE TABLE "user_code_attempts" (
      "key_hash" text NOT NULL,
      "attempts" integer NOT NULL,
      "window_ends_at" timestamptz NOT NULL,
      "locked_until" timestamptz,
      CONSTRAINT "pk_user_code_attempts" PRIMARY KEY ("key_hash")
    )`);
    await queryRunner.query(`CREATE INDEX "ix_user_code_attempts_window_ends_at" ON "user_code_attempts" ("window_ends_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "user_code_attempts"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "user_code_hash"`);
  }
}
