import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access tokens by `jti`: which request each access token was issued for, written by the statement
 * that issues it (the CIBA redemption, a refresh's rotation), so that a resource server's report
 * about a token (`POST /audit/downstream`) finds its request as soon as the token is sent. The `jti`
 * is an identifier, not a credential: the token itself is never stored. `request_id` is not a
 * foreign key, as for refresh tokens.
 *
 * The evidence record lists the `jti` of every access token of its request (`access_token_jtis`, a
 * jsonb array), with a GIN index so that an auditor holding a token's `jti` finds its record
 * (`access_token_jtis @> '["<jti>"]'`).
 */
export class AccessTokenJtis1700002700000 implements MigrationInterface {
  name = 'AccessTokenJtis1700002700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "access_token_jtis" (
      "jti" text NOT NULL,
      "request_id" uuid NOT NULL,
      "client_id" text NOT NULL,
      "issued_at" timestamptz NOT NULL,
      "expires_at" timestamptz NOT NULL,
      CONSTRAINT "pk_access_token_jtis" PRIMARY KEY ("jti")
    )`);
    await queryRunner.query(`CREATE INDEX "ix_access_token_jtis_request_id" ON "access_token_jtis" ("request_id")`);
    await queryRunner.query(`ALTER TABLE "audit_evidence_records" ADD "access_token_jtis" jsonb NOT NULL DEFAULT '[]'`);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_evidence_records_access_token_jtis" ON "audit_evidence_records" USING gin ("access_token_jtis" jsonb_path_ops)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_audit_evidence_records_access_token_jtis"`);
    await queryRunner.query(`ALTER TABLE "audit_evidence_records" DROP COLUMN "access_token_jtis"`);
    await queryRunner.query(`DROP TABLE "access_token_jtis"`);
  }
}
