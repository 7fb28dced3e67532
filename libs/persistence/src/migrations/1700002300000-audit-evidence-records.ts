import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit evidence record: one row per authentication request (`request_id`, the request's
 * internal id, text like `audit_records.request_id` and not a foreign key: the record outlives the
 * request). The audit service merges each lifecycle event into it. It holds no token, user code,
 * secret or raw hint: `user_hint_hash` is a keyed hash of the hint. Lists are jsonb arrays; the
 * downstream outcome is filled later by resource servers (null until then). `revision` counts the
 * writes: a merge writes only over the revision it read (optimistic concurrency between replicas).
 */
export class AuditEvidenceRecords1700002300000 implements MigrationInterface {
  name = 'AuditEvidenceRecords1700002300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "audit_evidence_records" (
      "request_id" text NOT NULL,
      "client_id" text NOT NULL,
      "subject" text NOT NULL,
      "issuer" text,
      "backchannel_endpoint" text,
      "delivery_mode" text,
      "scope" jsonb,
      "acr_values" jsonb,
      "hint_type" text,
      "user_hint_hash" text,
      "binding_message" text,
      "authorization_details_types" jsonb,
      "requested_at" timestamptz,
      "expires_at" timestamptz,
      "expires_in" integer,
      "interval" integer,
      "correlation_id" text,
      "channels" jsonb NOT NULL DEFAULT '[]',
      "callbacks" jsonb NOT NULL DEFAULT '[]',
      "callback_attempts" jsonb NOT NULL DEFAULT '[]',
      "decision" text,
      "decided_at" timestamptz,
      "denial_reason" text,
      "denial_limit" text,
      "acr" text,
      "amr" jsonb,
      "tokens_issued" jsonb,
      "redeemed_at" timestamptz,
      "token_outcome" text,
      "downstream" jsonb,
      "event_ids" jsonb NOT NULL DEFAULT '[]',
      "revision" integer NOT NULL DEFAULT 0,
      "updated_at" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT "pk_audit_evidence_records" PRIMARY KEY ("request_id")
    )`);
    await queryRunner.query(`CREATE INDEX "ix_audit_evidence_records_client_id_requested_at" ON "audit_evidence_records" ("client_id", "requested_at")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_evidence_records_subject_requested_at" ON "audit_evidence_records" ("subject", "requested_at")`);
    await queryRunner.query(`CREATE INDEX "ix_audit_evidence_records_user_hint_hash" ON "audit_evidence_records" ("user_hint_hash")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_evidence_records"`);
  }
}
