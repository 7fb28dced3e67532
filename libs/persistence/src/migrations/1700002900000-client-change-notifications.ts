import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every committed change to a client row (insert, update, delete: by registration, RFC 7592
 * management, a bootstrap reload, the admin CLI or plain SQL) is announced on the channel
 * `ciba_clients_changed` with the client id. PostgreSQL delivers a NOTIFY when its transaction
 * commits and drops it when it rolls back, so the processes that cache clients forget exactly what
 * changed, at once, whoever changed it.
 */
export class ClientChangeNotifications1700002900000 implements MigrationInterface {
  name = 'ClientChangeNotifications1700002900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE FUNCTION "clients_changed_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('ciba_clients_changed', CASE WHEN TG_OP = 'DELETE' THEN OLD.client_id ELSE NEW.client_id END);
        RETURN NULL;
      END
    $$`);
    await queryRunner.query(`CREATE TRIGGER "clients_changed" AFTER INSERT OR UPDATE OR DELETE ON "clients"
      FOR EACH ROW EXECUTE FUNCTION "clients_changed_notify"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "clients_changed" ON "clients"`);
    await queryRunner.query(`DROP FUNCTION "clients_changed_notify"()`);
  }
}
