import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed authentication requests (CIBA Core 1.0 §7.1.1): the client metadata
 * backchannel_authentication_request_signing_alg (CIBA §4). Nullable, no default: existing clients
 * keep sending unsigned requests. A request object's jti shares client_assertion_jtis with client
 * assertions, under its own namespace (see `PostgresClientAssertionJtis`), so no table is added.
 */
export class RequestSigningAlg1700001400000 implements MigrationInterface {
  name = 'RequestSigningAlg1700001400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD COLUMN "backchannel_authentication_request_signing_alg" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "backchannel_authentication_request_signing_alg"`);
  }
}
