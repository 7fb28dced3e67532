import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * RFC 8705 client metadata.
 *
 * clients.tls_client_auth_subject_dn / _san_dns / _san_uri / _san_ip / _san_email: the one subject
 * (§2.1.2) a tls_client_auth client's certificate must carry; a check keeps at most one of them set.
 * clients.tls_client_certificate_bound_access_tokens (§3): bind the client's access tokens to its
 * certificate. Nullable columns and a false default: nothing is rewritten.
 */
export class MutualTlsClients1700001700000 implements MigrationInterface {
  name = 'MutualTlsClients1700001700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients"
      ADD COLUMN "tls_client_auth_subject_dn" text,
      ADD COLUMN "tls_client_auth_san_dns" text,
      ADD COLUMN "tls_client_auth_san_uri" text,
      ADD COLUMN "tls_client_auth_san_ip" text,
      ADD COLUMN "tls_client_auth_san_email" text,
      ADD COLUMN "tls_client_certificate_bound_access_tokens" boolean NOT NULL DEFAULT false,
      ADD CONSTRAINT "ck_clients_tls_client_auth_one_subject" CHECK (num_nonnulls(
        "tls_client_auth_subject_dn", "tls_client_auth_san_dns", "tls_client_auth_san_uri", "tls_client_auth_san_ip", "tls_client_auth_san_email") <= 1)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients"
      DROP CONSTRAINT "ck_clients_tls_client_auth_one_subject",
      DROP COLUMN "tls_client_certificate_bound_access_tokens",
      DROP COLUMN "tls_client_auth_san_email",
      DROP COLUMN "tls_client_auth_san_ip",
      DROP COLUMN "tls_client_auth_san_uri",
      DROP COLUMN "tls_client_auth_san_dns",
      DROP COLUMN "tls_client_auth_subject_dn"`);
  }
}
