import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The initial schema, written by hand so that every name, index and constraint is deliberate. The
 * entities describe the same schema; an integration test checks that TypeORM's schema diff after
 * this migration is empty.
 */
export class InitialSchema1700000000000 implements MigrationInterface {
  name = 'InitialSchema1700000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "clients" (
        "client_id" text NOT NULL,
        "client_name" text NOT NULL,
        "client_secret_hash" text NOT NULL,
        "token_endpoint_auth_method" text NOT NULL,
        "grant_types" text[] NOT NULL,
        "scope" text[] NOT NULL,
        "backchannel_token_delivery_mode" text NOT NULL,
        "backchannel_client_notification_endpoint" text,
        "backchannel_user_code_parameter" boolean NOT NULL DEFAULT false,
        "id_token_signed_response_alg" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_clients" PRIMARY KEY ("client_id"),
        CONSTRAINT "ck_clients_token_delivery_mode" CHECK (backchannel_token_delivery_mode IN ('poll', 'ping', 'push'))
      )`);

    await queryRunner.query(`
      CREATE TABLE "users" (
        "sub" text NOT NULL,
        "name" text,
        "email" text,
        "email_verified" boolean NOT NULL DEFAULT false,
        "phone_number" text,
        "phone_number_verified" boolean NOT NULL DEFAULT false,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_users" PRIMARY KEY ("sub")
      )`);
    // login_hint lookups (CIBA §7.1): email case-insensitively, phone numbers without separators.
    // Not unique: a shared address is possible, and the lookup refuses to guess between users.
    await queryRunner.query(`CREATE INDEX "ix_users_email_lower" ON "users" (lower("email"))`);
    await queryRunner.query(
      `CREATE INDEX "ix_users_phone_number_normalised" ON "users" (regexp_replace("phone_number", '[[:space:]().-]', '', 'g'))`,
    );

    await queryRunner.query(`
      CREATE TABLE "auth_requests" (
        "id" uuid NOT NULL,
        "auth_req_id" text NOT NULL,
        "client_id" text NOT NULL,
        "subject" text NOT NULL,
        "scope" text[] NOT NULL,
        "acr_values" text[] NOT NULL,
        "binding_message" text,
        "hint_type" text NOT NULL,
        "delivery_mode" text NOT NULL,
        "client_notification_token" text,
        "status" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "interval" integer NOT NULL,
        "last_polled_at" timestamptz,
        "decided_at" timestamptz,
        "denial_reason" text,
        "redeemed_at" timestamptz,
        "notified_at" timestamptz,
        "correlation_id" text,
        CONSTRAINT "pk_auth_requests" PRIMARY KEY ("id"),
        CONSTRAINT "fk_auth_requests_client" FOREIGN KEY ("client_id") REFERENCES "clients" ("client_id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_auth_requests_status" CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'redeemed')),
        CONSTRAINT "ck_auth_requests_delivery_mode" CHECK (delivery_mode IN ('poll', 'ping', 'push')),
        CONSTRAINT "ck_auth_requests_hint_type" CHECK (hint_type IN ('login_hint', 'id_token_hint', 'login_hint_token')),
        CONSTRAINT "ck_auth_requests_denial_reason" CHECK (denial_reason IN ('UNAUTHORIZED', 'CANCELLED')),
        CONSTRAINT "ck_auth_requests_interval" CHECK ("interval" > 0)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_auth_requests_auth_req_id" ON "auth_requests" ("auth_req_id")`);
    await queryRunner.query(`CREATE INDEX "ix_auth_requests_client_id" ON "auth_requests" ("client_id")`);
    await queryRunner.query(`CREATE INDEX "ix_auth_requests_status_expires_at" ON "auth_requests" ("status", "expires_at")`);
    await queryRunner.query(
      `CREATE INDEX "ix_auth_requests_status_notified_at_created_at" ON "auth_requests" ("status", "notified_at", "created_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "decision_tokens" (
        "token_hash" text NOT NULL,
        "request_id" uuid NOT NULL,
        "channel" text NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        CONSTRAINT "pk_decision_tokens" PRIMARY KEY ("token_hash"),
        CONSTRAINT "fk_decision_tokens_request" FOREIGN KEY ("request_id") REFERENCES "auth_requests" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "ix_decision_tokens_request_id" ON "decision_tokens" ("request_id")`);

    await queryRunner.query(`
      CREATE TABLE "refresh_tokens" (
        "token_hash" text NOT NULL,
        "client_id" text NOT NULL,
        "subject" text NOT NULL,
        "scope" text[] NOT NULL,
        "auth_time" timestamptz NOT NULL,
        "acr" text,
        "expires_at" timestamptz NOT NULL,
        "request_id" uuid NOT NULL,
        "used_at" timestamptz,
        "replaced_by" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_refresh_tokens" PRIMARY KEY ("token_hash")
      )`);
    await queryRunner.query(`CREATE INDEX "ix_refresh_tokens_request_id" ON "refresh_tokens" ("request_id")`);

    await queryRunner.query(`
      CREATE TABLE "signing_keys" (
        "kid" text NOT NULL,
        "alg" text NOT NULL,
        "public_jwk" jsonb NOT NULL,
        "encrypted_private_jwk" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "retired_at" timestamptz,
        "unpublish_after" timestamptz,
        CONSTRAINT "pk_signing_keys" PRIMARY KEY ("kid")
      )`);

    await queryRunner.query(`
      CREATE TABLE "audit_records" (
        "event_id" text NOT NULL,
        "type" text NOT NULL,
        "request_id" text NOT NULL,
        "client_id" text NOT NULL,
        "subject" text NOT NULL,
        "occurred_at" timestamptz NOT NULL,
        "correlation_id" text,
        "payload" jsonb NOT NULL,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_audit_records" PRIMARY KEY ("event_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_records_request_id_occurred_at" ON "audit_records" ("request_id", "occurred_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_audit_records_client_id_occurred_at" ON "audit_records" ("client_id", "occurred_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "queued_messages" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "consumer" text NOT NULL,
        "subject" text NOT NULL,
        "message_id" text NOT NULL,
        "payload" jsonb NOT NULL,
        "headers" jsonb NOT NULL DEFAULT '{}',
        "deliveries" integer NOT NULL DEFAULT 0,
        "visible_at" timestamptz NOT NULL DEFAULT now(),
        "created_at" timestamptz NOT NULL DEFAULT clock_timestamp(),
        CONSTRAINT "pk_queued_messages" PRIMARY KEY ("id"),
        CONSTRAINT "uq_queued_messages_consumer_message_id" UNIQUE ("consumer", "message_id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_queued_messages_consumer_visible_at" ON "queued_messages" ("consumer", "visible_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "dead_letters" (
        "id" uuid NOT NULL,
        "consumer" text NOT NULL,
        "subject" text NOT NULL,
        "message_id" text NOT NULL,
        "payload" jsonb NOT NULL,
        "headers" jsonb NOT NULL,
        "reason" text NOT NULL,
        "deliveries" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "pk_dead_letters" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE INDEX "ix_dead_letters_consumer_created_at" ON "dead_letters" ("consumer", "created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "dead_letters"`);
    await queryRunner.query(`DROP TABLE "queued_messages"`);
    await queryRunner.query(`DROP TABLE "audit_records"`);
    await queryRunner.query(`DROP TABLE "signing_keys"`);
    await queryRunner.query(`DROP TABLE "refresh_tokens"`);
    await queryRunner.query(`DROP TABLE "decision_tokens"`);
    await queryRunner.query(`DROP TABLE "auth_requests"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP TABLE "clients"`);
  }
}
