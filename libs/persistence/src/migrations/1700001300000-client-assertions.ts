import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Client authentication with signed JWTs (RFC 7523, OpenID Connect Core 1.0 §9).
 *
 * clients: a private_key_jwt client registers its public keys inline (`jwks`) or by URL (`jwks_uri`);
 * a client_secret_jwt client's secret is kept sealed (AES-GCM under the key encryption key), never in
 * plain text, because verifying an HMAC needs the secret itself. All nullable, no default: nothing is
 * rewritten, and existing clients keep authenticating as before.
 *
 * client_assertion_jtis: the jti of every accepted assertion until it expires (RFC 7523 §3 (7)),
 * keyed by client and a digest of the jti so an INSERT … ON CONFLICT DO NOTHING decides, in one
 * statement on any replica, whether the assertion was seen before.
 */
export class ClientAssertions1700001300000 implements MigrationInterface {
  name = 'ClientAssertions1700001300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients"
      ADD COLUMN "client_secret_sealed" text,
      ADD COLUMN "jwks" jsonb,
      ADD COLUMN "jwks_uri" text,
      ADD COLUMN "token_endpoint_auth_signing_alg" text`);
    await queryRunner.query(`CREATE TABLE "client_assertion_jtis" (
      "client_id" text NOT NULL,
      "jti_hash" text NOT NULL,
      "expires_at" timestamptz NOT NULL,
      CONSTRAINT "pk_client_assertion_jtis" PRIMARY KEY ("client_id", "jti_hash")
    )`);
    await queryRunner.query(`CREATE INDEX "ix_client_assertion_jtis_expires_at" ON "client_assertion_jtis" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "client_assertion_jtis"`);
    await queryRunner.query(`ALTER TABLE "clients"
      DROP COLUMN "client_secret_sealed",
      DROP COLUMN "jwks",
      DROP COLUMN "jwks_uri",
      DROP COLUMN "token_endpoint_auth_signing_alg"`);
  }
}
