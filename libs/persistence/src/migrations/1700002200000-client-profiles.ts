import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Client profiles: the `client_profile` registration metadata (`fapi-ciba`, see the protocol lib's
 * `clientProfileProblems`). Nullable, no default: existing clients follow no profile.
 */
export class ClientProfiles1700002200000 implements MigrationInterface {
  name = 'ClientProfiles1700002200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD COLUMN "client_profile" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "client_profile"`);
  }
}
