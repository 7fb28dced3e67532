import type { Client } from '@ciba/domain';
import { CLIENT_AUTH_METHODS, CLIENT_SECRET_JWT_ALGS, REQUEST_OBJECT_ALGS, SIGNING_ALGS, TOKEN_DELIVERY_MODES } from '@ciba/protocol';
import { oneOf } from '../mapping.js';
import type { ClientEntity } from './client.entity.js';

const ASSERTION_ALGS = [...SIGNING_ALGS, ...CLIENT_SECRET_JWT_ALGS] as const;

export function toClient(entity: ClientEntity): Client {
  return {
    clientId: entity.clientId,
    clientName: entity.clientName,
    clientSecretHash: entity.clientSecretHash,
    tokenEndpointAuthMethod: oneOf(entity.tokenEndpointAuthMethod, CLIENT_AUTH_METHODS, 'clients.token_endpoint_auth_method'),
    clientSecretSealed: entity.clientSecretSealed,
    jwks: entity.jwks === null ? null : { keys: entity.jwks.keys.map((key) => ({ ...key })) },
    jwksUri: entity.jwksUri,
    tokenEndpointAuthSigningAlg:
      entity.tokenEndpointAuthSigningAlg === null
        ? null
        : oneOf(entity.tokenEndpointAuthSigningAlg, ASSERTION_ALGS, 'clients.token_endpoint_auth_signing_alg'),
    backchannelAuthenticationRequestSigningAlg:
      entity.backchannelAuthenticationRequestSigningAlg === null
        ? null
        : oneOf(entity.backchannelAuthenticationRequestSigningAlg, REQUEST_OBJECT_ALGS, 'clients.backchannel_authentication_request_signing_alg'),
    grantTypes: [...entity.grantTypes],
    scope: [...entity.scope],
    backchannelTokenDeliveryMode: oneOf(entity.backchannelTokenDeliveryMode, TOKEN_DELIVERY_MODES, 'clients.backchannel_token_delivery_mode'),
    backchannelClientNotificationEndpoint: entity.backchannelClientNotificationEndpoint,
    backchannelUserCodeParameter: entity.backchannelUserCodeParameter,
    idTokenSignedResponseAlg:
      entity.idTokenSignedResponseAlg === null
        ? null
        : oneOf(entity.idTokenSignedResponseAlg, SIGNING_ALGS, 'clients.id_token_signed_response_alg'),
    authorizationDetailsTypes: [...entity.authorizationDetailsTypes],
    defaultAcrValues: [...entity.defaultAcrValues],
  };
}

/** The columns a client's registration sets; timestamps are the database's. */
export function fromClient(client: Client): Omit<ClientEntity, 'createdAt' | 'updatedAt'> {
  return {
    clientId: client.clientId,
    clientName: client.clientName,
    clientSecretHash: client.clientSecretHash,
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    clientSecretSealed: client.clientSecretSealed,
    jwks: client.jwks === null ? null : { keys: client.jwks.keys.map((key) => ({ ...key })) },
    jwksUri: client.jwksUri,
    tokenEndpointAuthSigningAlg: client.tokenEndpointAuthSigningAlg,
    backchannelAuthenticationRequestSigningAlg: client.backchannelAuthenticationRequestSigningAlg ?? null,
    grantTypes: [...client.grantTypes],
    scope: [...client.scope],
    backchannelTokenDeliveryMode: client.backchannelTokenDeliveryMode,
    backchannelClientNotificationEndpoint: client.backchannelClientNotificationEndpoint,
    backchannelUserCodeParameter: client.backchannelUserCodeParameter,
    idTokenSignedResponseAlg: client.idTokenSignedResponseAlg,
    authorizationDetailsTypes: [...client.authorizationDetailsTypes],
    defaultAcrValues: [...client.defaultAcrValues],
  };
}
