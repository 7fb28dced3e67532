import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Devices belong to the user: each registration records the client that made it (none for an
 * enrolment link) and ends by itself (`expires_at`; registrations made before get the default 90
 * days from their creation); the notifier's announcement of a new device (taken up, and the one-time
 * removal links it sent, stored hashed) and the `device.revoked` event (who revoked, published) are
 * tracked so a crash cannot lose them. The audit trail takes device events: no request, maybe no
 * client, a device.
 *
 * Registrations and revocations made before this migration count as announced and published: the
 * trail and the users' inboxes are not flooded with the past.
 */
export class DeviceOwnership1700000300000 implements MigrationInterface {
  name = 'DeviceOwnership1700000300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "devices" ADD "client_id" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "expires_at" timestamptz`);
    await queryRunner.query(`UPDATE "devices" SET "expires_at" = "created_at" + interval '90 days'`);
    await queryRunner.query(`ALTER TABLE "devices" ALTER COLUMN "expires_at" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "announcement_taken_at" timestamptz`);
    await queryRunner.query(`UPDATE "devices" SET "announcement_taken_at" = "created_at"`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "revoked_via" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "revoked_by_client_id" text`);
    await queryRunner.query(`ALTER TABLE "devices" ADD "revocation_published_at" timestamptz`);
    await queryRunner.query(`UPDATE "devices" SET "revocation_published_at" = "revoked_at" WHERE "revoked_at" IS NOT NULL`);
    await queryRunner.query(
      `ALTER TABLE "devices" ADD CONSTRAINT "ck_devices_revoked_via" CHECK ("revoked_via" IN ('client', 'enrolment_link', 'removal_link', 'admin'))`,
    );
    await queryRunner.query(`CREATE INDEX "ix_devices_unannounced" ON "devices" ("created_at") WHERE announcement_taken_at IS NULL`);
    await queryRunner.query(
      `CREATE INDEX "ix_devices_unpublished_revocations" ON "devices" ("revoked_at") WHERE revoked_at IS NOT NULL AND revocation_published_at IS NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE "device_removal_links" (
        "token_hash" text NOT NULL,
        "device_id" uuid NOT NULL,
        "sent_via" text NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "created_at" timestamptz NOT NULL,
        "sent_at" timestamptz,
        "used_at" timestamptz,
        CONSTRAINT "pk_device_removal_links" PRIMARY KEY ("token_hash"),
        CONSTRAINT "uq_device_removal_links_device_sent_via" UNIQUE ("device_id", "sent_via"),
        CONSTRAINT "fk_device_removal_links_device" FOREIGN KEY ("device_id") REFERENCES "devices" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_device_removal_links_sent_via" CHECK ("sent_via" IN ('email', 'sms'))
      )`);
    await queryRunner.query(`ALTER TABLE "audit_records" ALTER COLUMN "request_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "audit_records" ALTER COLUMN "client_id" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "audit_records" ADD "device_id" text`);
    await queryRunner.query(`CREATE INDEX "ix_audit_records_device_id_occurred_at" ON "audit_records" ("device_id", "occurred_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_audit_records_device_id_occurred_at"`);
    await queryRunner.query(`DELETE FROM "audit_records" WHERE "request_id" IS NULL OR "client_id" IS NULL`);
    await queryRunner.query(`ALTER TABLE "audit_records" DROP COLUMN "device_id"`);
    await queryRunner.query(`ALTER TABLE "audit_records" ALTER COLUMN "client_id" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "audit_records" ALTER COLUMN "request_id" SET NOT NULL`);
    await queryRunner.query(`DROP TABLE "device_removal_links"`);
    await queryRunner.query(`DROP INDEX "ix_devices_unpublished_revocations"`);
    await queryRunner.query(`DROP INDEX "ix_devices_unannounced"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP CONSTRAINT "ck_devices_revoked_via"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "revocation_published_at"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "revoked_by_client_id"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "revoked_via"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "announcement_taken_at"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "expires_at"`);
    await queryRunner.query(`ALTER TABLE "devices" DROP COLUMN "client_id"`);
  }
}
