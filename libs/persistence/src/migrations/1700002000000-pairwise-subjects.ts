import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenID Connect Core §8 subject identifier types.
 *
 * clients.subject_type: `public` (every existing client, the default) or `pairwise` (§8.1);
 * clients.sector_identifier_uri: the registered sector document, whose host is the sector. Both
 * additive: a constant default is stored in the catalogue, so the table is not rewritten.
 *
 * pairwise_subjects: every pairwise `sub` issued, keyed by (sector, pairwise sub), with the user's
 * own `sub`: the way back for UserInfo and id_token_hint (a pairwise sub is a one-way MAC).
 */
export class PairwiseSubjects1700002000000 implements MigrationInterface {
  name = 'PairwiseSubjects1700002000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "clients" ADD COLUMN "subject_type" text NOT NULL DEFAULT 'public'`);
    await queryRunner.query(`ALTER TABLE "clients" ADD CONSTRAINT "ck_clients_subject_type" CHECK (subject_type IN ('public', 'pairwise'))`);
    await queryRunner.query(`ALTER TABLE "clients" ADD COLUMN "sector_identifier_uri" text`);
    await queryRunner.query(`CREATE TABLE "pairwise_subjects" (
      "sector_identifier" text NOT NULL,
      "pairwise_sub" text NOT NULL,
      "sub" text NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT "pk_pairwise_subjects" PRIMARY KEY ("sector_identifier", "pairwise_sub")
    )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "pairwise_subjects"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "sector_identifier_uri"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP CONSTRAINT "ck_clients_subject_type"`);
    await queryRunner.query(`ALTER TABLE "clients" DROP COLUMN "subject_type"`);
  }
}
