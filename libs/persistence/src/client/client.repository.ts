import type { Client, ClientRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
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

  /** Inserts or replaces the registration (bootstrap from config, admin tool). */
  async upsert(client: Client): Promise<void> {
    const row = fromClient(client);
    await this.dataSource.query(
      `INSERT INTO clients (client_id, client_name, client_secret_hash, token_endpoint_auth_method, grant_types, scope,
                            backchannel_token_delivery_mode, backchannel_client_notification_endpoint,
                            backchannel_user_code_parameter, id_token_signed_response_alg, authorization_details_types,
                            default_acr_values, client_secret_sealed, jwks, jwks_uri, token_endpoint_auth_signing_alg,
                            backchannel_authentication_request_signing_alg)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17)
       ON CONFLICT (client_id) DO UPDATE SET
         client_name = EXCLUDED.client_name,
         client_secret_hash = EXCLUDED.client_secret_hash,
         token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method,
         grant_types = EXCLUDED.grant_types,
         scope = EXCLUDED.scope,
         backchannel_token_delivery_mode = EXCLUDED.backchannel_token_delivery_mode,
         backchannel_client_notification_endpoint = EXCLUDED.backchannel_client_notification_endpoint,
         backchannel_user_code_parameter = EXCLUDED.backchannel_user_code_parameter,
         id_token_signed_response_alg = EXCLUDED.id_token_signed_response_alg,
         authorization_details_types = EXCLUDED.authorization_details_types,
         default_acr_values = EXCLUDED.default_acr_values,
         client_secret_sealed = EXCLUDED.client_secret_sealed,
         jwks = EXCLUDED.jwks,
         jwks_uri = EXCLUDED.jwks_uri,
         token_endpoint_auth_signing_alg = EXCLUDED.token_endpoint_auth_signing_alg,
         backchannel_authentication_request_signing_alg = EXCLUDED.backchannel_authentication_request_signing_alg,
         updated_at = now()`,
      [
        row.clientId,
        row.clientName,
        row.clientSecretHash,
        row.tokenEndpointAuthMethod,
        row.grantTypes,
        row.scope,
        row.backchannelTokenDeliveryMode,
        row.backchannelClientNotificationEndpoint,
        row.backchannelUserCodeParameter,
        row.idTokenSignedResponseAlg,
        row.authorizationDetailsTypes,
        row.defaultAcrValues,
        row.clientSecretSealed,
        row.jwks === null ? null : JSON.stringify(row.jwks),
        row.jwksUri,
        row.tokenEndpointAuthSigningAlg,
        row.backchannelAuthenticationRequestSigningAlg,
      ],
    );
  }
}
