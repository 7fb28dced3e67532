import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One CIBA flow, one trace: the W3C traceparent of the bc-authorize request is kept with the request
 * (null when tracing is off, and for requests made before), so that the device's decision and the
 * token request, which arrive on requests of their own, continue its trace. Adding a nullable column
 * without a default rewrites nothing.
 */
export class FlowTraceContext1700001200000 implements MigrationInterface {
  name = 'FlowTraceContext1700001200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_requests" ADD COLUMN "trace_context" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "auth_requests" DROP COLUMN "trace_context"`);
  }
}
