import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * RFC 9449 §5.2 client metadata: clients.dpop_bound_access_tokens, a client whose every token
 * request must carry a DPoP proof. A false default: nothing is rewritten, existing clients keep
 * bearer tokens unless they send a proof. DPoP proofs' jtis share client_assertion_jtis under their
 * own namespace (see `PostgresClientAssertionJtis`), so no table is added.
 */
export class DpopClients1700001600000 implements MigrationInterface {
  name = 'DpopClients1700001600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD COLUMN "dpop_bound_access_tokens" boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "dpop_bound_access_tokens"`);
  }
}
