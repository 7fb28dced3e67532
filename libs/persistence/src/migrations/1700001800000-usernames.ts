import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * users.username: the `preferred_username` claim, a login_hint form (CIBA §7.1). Unique
 * case-insensitively, so a username hint names one user at most; nullable, no default: nothing is
 * rewritten. The unique expression index is also the lookup index.
 */
export class Usernames1700001800000 implements MigrationInterface {
  name = 'Usernames1700001800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "username" text`);
    await queryRunner.query(`CREATE UNIQUE INDEX "ux_users_username_lower" ON "users" (lower("username"))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ux_users_username_lower"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "username"`);
  }
}
