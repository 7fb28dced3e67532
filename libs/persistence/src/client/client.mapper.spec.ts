import { describe, expect, it } from '@jest/globals';
import type { Client } from '@ciba/domain';
import type { ClientEntity } from './client.entity.js';
import { fromClient, toClient } from './client.mapper.js';

const client: Client = {
  clientId: 'rp-1',
  clientName: 'RP',
  clientSecretHash: 'scrypt$hash',
  tokenEndpointAuthMethod: 'client_secret_post',
  clientSecretSealed: null,
  jwks: null,
  jwksUri: null,
  tokenEndpointAuthSigningAlg: null,
  backchannelAuthenticationRequestSigningAlg: 'ES256',
  grantTypes: ['urn:openid:params:grant-type:ciba'],
  scope: ['openid'],
  backchannelTokenDeliveryMode: 'push',
  backchannelClientNotificationEndpoint: 'https://rp.example/cb',
  backchannelUserCodeParameter: false,
  idTokenSignedResponseAlg: 'PS256',
  defaultAcrValues: ['phr'],
  authorizationDetailsTypes: ['payment_initiation'],
};

function entityOf(c: Client): ClientEntity {
  return { ...fromClient(c), createdAt: new Date(0), updatedAt: new Date(0) };
}

describe('client mapper', () => {
  it('round-trips a client', () => {
    expect(toClient(entityOf(client))).toEqual(client);
    expect(toClient(entityOf({ ...client, backchannelAuthenticationRequestSigningAlg: null })).backchannelAuthenticationRequestSigningAlg).toBeNull();
  });

  it('refuses values outside the protocol vocabulary instead of passing them on', () => {
    expect(() => toClient({ ...entityOf(client), tokenEndpointAuthMethod: 'none' })).toThrow('clients.token_endpoint_auth_method');
    expect(() => toClient({ ...entityOf(client), idTokenSignedResponseAlg: 'HS256' })).toThrow('clients.id_token_signed_response_alg');
    expect(() => toClient({ ...entityOf(client), backchannelTokenDeliveryMode: 'email' })).toThrow();
    expect(() => toClient({ ...entityOf(client), backchannelAuthenticationRequestSigningAlg: 'none' })).toThrow('clients.backchannel_authentication_request_signing_alg');
  });

  it('does not share arrays with the entity', () => {
    const entity = entityOf(client);
    const mapped = toClient(entity);
    entity.scope.push('mutated');
    entity.authorizationDetailsTypes.push('mutated');
    expect(mapped.scope).toEqual(['openid']);
    expect(mapped.authorizationDetailsTypes).toEqual(['payment_initiation']);
  });
});
