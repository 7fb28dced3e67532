import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reaching the user: per-user channel preference, registered devices (Web Push subscriptions and FCM
 * registration tokens, stored encrypted), one-time enrolment tokens (stored hashed), the per-user
 * notification log behind the rate limit, RFC 9396 authorization details (on requests and the refresh
 * tokens issued for them, and the types each client registered), two provider-side denial reasons,
 * and passkey step-up: clients' default_acr_values, the acr/amr an approval satisfied (on requests
 * and their refresh tokens), passkeys, outstanding WebAuthn challenges (hashed), and the enrolment
 * link's one passkey.
 */
export class UserChannels1700000200000 implements MigrationInterface {
  name = 'UserChannels1700000200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD "channel_preference" text array`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "authorization_details" jsonb`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "authorization_details" jsonb`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "authorization_details_types" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP CONSTRAINT "ck_auth_requests_denial_reason"`);
    await queryRunner.query(
      `ALTER TABLE "auth_requests" ADD CONSTRAINT "ck_auth_requests_denial_reason" CHECK (denial_reason IN ('UNAUTHORIZED', 'CANCELLED', 'RATE_LIMITED', 'UNREACHABLE'))`,
    );
    await queryRunner.query(`
      CREATE TABLE "devices" (
        "id" uuid NOT NULL,
        "subject" text NOT NULL,
        "kind" text NOT NULL,
        "label" text,
        "target_fingerprint" text NOT NULL,
        "encrypted_target" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "last_used_at" timestamptz,
        "revoked_at" timestamptz,
        "revoked_reason" text,
        CONSTRAINT "pk_devices" PRIMARY KEY ("id"),
        CONSTRAINT "fk_devices_user" FOREIGN KEY ("subject") REFERENCES "users" ("sub") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_devices_kind" CHECK ("kind" IN ('web-push', 'fcm'))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_devices_subject" ON "devices" ("subject")`);
    await queryRunner.query(`CREATE UNIQUE INDEX "ux_devices_target_fingerprint" ON "devices" ("target_fingerprint") WHERE revoked_at IS NULL`);
    await queryRunner.query(`
      CREATE TABLE "enrolment_tokens" (
        "token_hash" text NOT NULL,
        "subject" text NOT NULL,
        "sent_via" text NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        CONSTRAINT "pk_enrolment_tokens" PRIMARY KEY ("token_hash"),
        CONSTRAINT "fk_enrolment_tokens_user" FOREIGN KEY ("subject") REFERENCES "users" ("sub") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`
      CREATE TABLE "user_notifications" (
        "request_id" uuid NOT NULL,
        "subject" text NOT NULL,
        "sent_at" timestamptz NOT NULL,
        CONSTRAINT "pk_user_notifications" PRIMARY KEY ("request_id"),
        CONSTRAINT "fk_user_notifications_request" FOREIGN KEY ("request_id") REFERENCES "auth_requests" ("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "ix_user_notifications_subject" ON "user_notifications" ("subject", "sent_at")`);
    await queryRunner.query(`ALTER TABLE "clients" ADD "default_acr_values" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "acr" text`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD "amr" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "amr" text array NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE "enrolment_tokens" ADD "passkey_registered_at" timestamptz`);
    await queryRunner.query(`
      CREATE TABLE "passkeys" (
        "id" uuid NOT NULL,
        "subject" text NOT NULL,
        "credential_id" text NOT NULL,
        "public_key" bytea NOT NULL,
        "sign_count" bigint NOT NULL,
        "transports" text array NOT NULL DEFAULT '{}',
        "backed_up" boolean NOT NULL,
        "label" text,
        "created_at" timestamptz NOT NULL,
        "last_used_at" timestamptz,
        CONSTRAINT "pk_passkeys" PRIMARY KEY ("id"),
        CONSTRAINT "fk_passkeys_user" FOREIGN KEY ("subject") REFERENCES "users" ("sub") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_passkeys_sign_count" CHECK ("sign_count" >= 0)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "uq_passkeys_credential_id" ON "passkeys" ("credential_id")`);
    await queryRunner.query(`CREATE INDEX "ix_passkeys_subject" ON "passkeys" ("subject")`);
    await queryRunner.query(`
      CREATE TABLE "webauthn_challenges" (
        "challenge_hash" text NOT NULL,
        "ceremony" text NOT NULL,
        "binding_hash" text NOT NULL,
        "subject" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        CONSTRAINT "pk_webauthn_challenges" PRIMARY KEY ("challenge_hash"),
        CONSTRAINT "fk_webauthn_challenges_user" FOREIGN KEY ("subject") REFERENCES "users" ("sub") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "ck_webauthn_challenges_ceremony" CHECK ("ceremony" IN ('registration', 'authentication'))
      )`);
    await queryRunner.query(`CREATE INDEX "ix_webauthn_challenges_binding_hash" ON "webauthn_challenges" ("binding_hash")`);
    await queryRunner.query(`CREATE INDEX "ix_webauthn_challenges_expires_at" ON "webauthn_challenges" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "webauthn_challenges"`);
    await queryRunner.query(`DROP TABLE "passkeys"`);
    await queryRunner.query(`ALTER TABLE "enrolment_tokens" DROP COLUMN "passkey_registered_at"`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "amr"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "amr"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "acr"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "default_acr_values"`);
    await queryRunner.query(`DROP TABLE "user_notifications"`);
    await queryRunner.query(`DROP TABLE "enrolment_tokens"`);
    await queryRunner.query(`DROP TABLE "devices"`);
    await queryRunner.query(`DELETE FROM "auth_requests" WHERE denial_reason IN ('RATE_LIMITED', 'UNREACHABLE')`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP CONSTRAINT "ck_auth_requests_denial_reason"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD CONSTRAINT "ck_auth_requests_denial_reason" CHECK (denial_reason IN ('UNAUTHORIZED', 'CANCELLED'))`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "authorization_details_types"`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "authorization_details"`);
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "authorization_details"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "channel_preference"`);
  }
}
