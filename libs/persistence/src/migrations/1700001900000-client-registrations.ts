import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dynamic client registration (RFC 7591) and management (RFC 7592).
 *
 * client_registrations: one row per client registered at the registration endpoint, which tells it
 * apart from a bootstrap client: the SHA-256 digest of its registration access token (never the
 * token), when its client_id was issued, and its metadata as registered (echoed in responses; never
 * the secret). Deleting the client deletes the row (and, as before, its authentication requests).
 */
export class ClientRegistrations1700001900000 implements MigrationInterface {
  name = 'ClientRegistrations1700001900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "client_registrations" (
      "client_id" text NOT NULL,
      "registration_access_token_hash" text NOT NULL,
      "client_id_issued_at" timestamptz NOT NULL,
      "metadata" jsonb NOT NULL,
      "updated_at" timestamptz NOT NULL,
      CONSTRAINT "pk_client_registrations" PRIMARY KEY ("client_id"),
      CONSTRAINT "fk_client_registrations_client" FOREIGN KEY ("client_id") REFERENCES "clients" ("client_id") ON DELETE CASCADE ON UPDATE NO ACTION
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Registered clients cannot outlive their registrations: without them they would look like bootstrap clients.
    await queryRunner.query(`DELETE FROM "clients" WHERE "client_id" IN (SELECT "client_id" FROM "client_registrations")`);
    await queryRunner.query(`DROP TABLE "client_registrations"`);
  }
}
