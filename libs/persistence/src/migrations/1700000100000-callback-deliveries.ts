import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Ping and push callbacks to clients (CIBA §10.2, §10.3, §12). */
export class CallbackDeliveries1700000100000 implements MigrationInterface {
  name = 'CallbackDeliveries1700000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "callback_deliveries" (
        "id" text NOT NULL,
        "request_id" uuid NOT NULL,
        "client_id" text NOT NULL,
        "trigger" text NOT NULL,
        "kind" text NOT NULL,
        "endpoint" text NOT NULL,
        "encrypted_message" text NOT NULL,
        "status" text NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "last_error" text,
        "created_at" timestamptz NOT NULL,
        "delivered_at" timestamptz,
        CONSTRAINT "pk_callback_deliveries" PRIMARY KEY ("id"),
        CONSTRAINT "fk_callback_deliveries_request" FOREIGN KEY ("request_id") REFERENCES "auth_requests" ("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_callback_deliveries_trigger" CHECK ("trigger" IN ('approved', 'denied', 'expired')),
        CONSTRAINT "ck_callback_deliveries_kind" CHECK ("kind" IN ('ping', 'push_tokens', 'push_error')),
        CONSTRAINT "ck_callback_deliveries_status" CHECK ("status" IN ('pending', 'delivered', 'failed'))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_callback_deliveries_request_id" ON "callback_deliveries" ("request_id")`);
    await queryRunner.query(`CREATE INDEX "ix_callback_deliveries_status" ON "callback_deliveries" ("status", "created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "callback_deliveries"`);
  }
}
