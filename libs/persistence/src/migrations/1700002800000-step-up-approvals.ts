import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The CIBA step-up gateway's approvals (`apps/step-up-gateway`): pending ones survive a restart of
 * the gateway and are shared by its replicas. At most one approval is live (pending or approved)
 * per binding (user, route policy, fingerprint): the partial unique index makes concurrent first
 * requests start a single backchannel request. The pollers claim due pending rows with a lease.
 */
export class StepUpApprovals1700002800000 implements MigrationInterface {
  name = 'StepUpApprovals1700002800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "step_up_approvals" (
      "id" uuid NOT NULL,
      "binding_key" text NOT NULL,
      "route_id" text NOT NULL,
      "status" text NOT NULL,
      "reuse" text NOT NULL,
      "auth_req_id_sealed" text,
      "poll_interval" integer NOT NULL,
      "next_poll_at" timestamptz NOT NULL,
      "lease_owner" text,
      "lease_until" timestamptz,
      "request_expires_at" timestamptz NOT NULL,
      "access_token_sealed" text,
      "access_token_jti" text,
      "approved_until" timestamptz,
      "denial_reason" text,
      "created_at" timestamptz NOT NULL,
      "updated_at" timestamptz NOT NULL,
      CONSTRAINT "pk_step_up_approvals" PRIMARY KEY ("id")
    )`);
    await queryRunner.query(`CREATE INDEX "ix_step_up_approvals_binding_key_created_at" ON "step_up_approvals" ("binding_key", "created_at")`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "ux_step_up_approvals_live_binding" ON "step_up_approvals" ("binding_key") WHERE "status" IN ('pending', 'approved')`,
    );
    await queryRunner.query(`CREATE INDEX "ix_step_up_approvals_due" ON "step_up_approvals" ("next_poll_at") WHERE "status" = 'pending'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "step_up_approvals"`);
  }
}
