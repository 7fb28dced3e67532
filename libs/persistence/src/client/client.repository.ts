import type { Client, ClientRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
// TypeORM's deep-partial type cannot see through the jsonb column's Record members.
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { queryRows } from '../sql.js';
import { ClientEntity } from './client.entity.js';
import { fromClient, toClient } from './client.mapper.js';

export class TypeOrmClientRepository implements ClientRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findById(clientId: string): Promise<Client | null> {
    const entity = await this.dataSource.getRepository(ClientEntity).findOneBy({ clientId });
    return entity ? toClient(entity) : null;
  }

  async list(): Promise<Client[]> {
    const entities = await this.dataSource.getRepository(ClientEntity).find({ order: { clientId: 'ASC' } });
    return entities.map(toClient);
  }

  async authorizationDetailsTypes(): Promise<string[]> {
    const rows = await queryRows<{ type: string }>(
      this.dataSource,
      `SELECT DISTINCT unnest(authorization_details_types) AS type FROM clients ORDER BY type`,
    );
    return rows.map((row) => row.type);
  }

  /**
   * Inserts or replaces the registration (bootstrap from config, admin tool) in one statement. Every
   * column the entity maps is written, so a new registration field needs no change here.
   */
  async upsert(client: Client): Promise<void> {
    const replaced = this.dataSource
      .getMetadata(ClientEntity)
      .columns.filter((column) => !column.isPrimary && !column.isCreateDate)
      .map((column) => column.databaseName);
    await this.dataSource.createQueryBuilder().insert().into(ClientEntity).values(fromClient(client) as QueryDeepPartialEntity<ClientEntity>).orUpdate(replaced, ['client_id']).updateEntity(false).execute();
  }
}
