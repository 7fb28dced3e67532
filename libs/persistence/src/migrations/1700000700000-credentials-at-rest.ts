import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identifiers that are credentials leave the database: the auth_req_id becomes a MAC'd reference to
 * the request id (nothing stored), and the client notification token is stored sealed. Requests
 * pending now were issued handles that are no longer accepted, and their plaintext tokens cannot be
 * sealed here (the key is not the database's): they are ended, so the expiry sweeper expires them
 * instead of users approving requests nobody can redeem. Refresh tokens gain `revoked_at` for
 * RFC 9700 §4.14.2 family revocation.
 */
export class CredentialsAtRest1700000700000 implements MigrationInterface {
  name = 'CredentialsAtRest1700000700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "auth_requests" SET "expires_at" = now() WHERE "status" = 'pending' AND "expires_at" > now()`);
    await queryRunner.query(`DROP INDEX "uq_auth_requests_auth_req_id"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "auth_req_id"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "client_notification_token"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "sealed_client_notification_token" text`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "revoked_at" timestamptz`);
  }

  /** Sealed tokens cannot be unsealed here and the old handles are gone: restored rows get fresh random handles nobody holds. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "revoked_at"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "sealed_client_notification_token"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "client_notification_token" text`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "auth_req_id" text`);
    await queryRunner.query(`UPDATE "auth_requests" SET "auth_req_id" = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ALTER COLUMN "auth_req_id" SET NOT NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_requests_auth_req_id" ON "auth_requests" ("auth_req_id")`);
  }
}
