import type { Client, ClientRegistration, ClientRegistrations } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { queryRows } from '../sql.js';
import { ClientEntity } from './client.entity.js';
import { ClientRegistrationEntity } from './client-registration.entity.js';
import { fromClient, toClient } from './client.mapper.js';

/** Dynamically registered clients (RFC 7591 / 7592): the client row and its registration row, always written together. */
export class TypeOrmClientRegistrationRepository implements ClientRegistrations {
  constructor(private readonly dataSource: DataSource) {}

  async create(client: Client, registration: ClientRegistration): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // A plain INSERT: a client id that exists already fails here rather than replacing that client.
      await manager.createQueryBuilder().insert().into(ClientEntity).values(fromClient(client) as QueryDeepPartialEntity<ClientEntity>).updateEntity(false).execute();
      const row: ClientRegistrationEntity = {
        clientId: registration.clientId,
        registrationAccessTokenHash: registration.registrationAccessTokenHash,
        clientIdIssuedAt: registration.clientIdIssuedAt,
        metadata: { ...registration.metadata },
        updatedAt: registration.clientIdIssuedAt,
      };
      await manager.insert(ClientRegistrationEntity, row as QueryDeepPartialEntity<ClientRegistrationEntity>);
    });
  }

  async find(clientId: string): Promise<{ client: Client; registration: ClientRegistration } | null> {
    const row = await this.dataSource.getRepository(ClientRegistrationEntity).findOne({ where: { clientId }, relations: { client: true } });
    if (row === null || !row.client) return null;
    return {
      client: toClient(row.client),
      registration: {
        clientId: row.clientId,
        registrationAccessTokenHash: row.registrationAccessTokenHash,
        clientIdIssuedAt: row.clientIdIssuedAt,
        metadata: row.metadata,
      },
    };
  }

  async update(client: Client, metadata: Readonly<Record<string, unknown>>): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      // The registration row first: it is locked for the transaction, so a concurrent delete waits or has won.
      const changes: Partial<ClientRegistrationEntity> = { metadata: { ...metadata }, updatedAt: new Date() };
      const updated = await manager.update(ClientRegistrationEntity, { clientId: client.clientId }, changes as QueryDeepPartialEntity<ClientRegistrationEntity>);
      if (!updated.affected) return false;
      await manager.update(ClientEntity, { clientId: client.clientId }, fromClient(client) as QueryDeepPartialEntity<ClientEntity>);
      return true;
    });
  }

  async delete(clientId: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const deleted = await queryRows(manager, `DELETE FROM client_registrations WHERE client_id = $1 RETURNING client_id`, [clientId]);
      if (deleted.length === 0) return false;
      // Refresh tokens name their client without a foreign key: without this they would outlive it.
      await manager.query(`DELETE FROM refresh_tokens WHERE client_id = $1`, [clientId]);
      await manager.query(`DELETE FROM client_assertion_jtis WHERE client_id = $1`, [clientId]);
      // Cascades to its authentication requests, and from them to decision links, callbacks and notifications.
      await manager.query(`DELETE FROM clients WHERE client_id = $1`, [clientId]);
      return true;
    });
  }
}
