import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A callback attempt is claimed before it is sent: `attempt_lease_until` says until when the attempt
 * in flight holds the delivery, so that a message the bus redelivers meanwhile is not sent twice.
 */
export class CallbackAttemptLease1700000800000 implements MigrationInterface {
  name = 'CallbackAttemptLease1700000800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "callback_deliveries" ADD "attempt_lease_until" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "callback_deliveries" DROP COLUMN "attempt_lease_until"`);
  }
}
