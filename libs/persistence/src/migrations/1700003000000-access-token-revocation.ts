import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access tokens can be revoked (RFC 7009): by the client, one at a time, or with their grant when
 * the grant's refresh token is revoked (RFC 7009 §2.1). `revoked_at` is set on the token's row in
 * `access_token_jtis`; introspection and UserInfo read it by the token's `jti` (the primary key).
 */
export class AccessTokenRevocation1700003000000 implements MigrationInterface {
  name = 'AccessTokenRevocation1700003000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "access_token_jtis" ADD "revoked_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "access_token_jtis" DROP COLUMN "revoked_at"`);
  }
}
