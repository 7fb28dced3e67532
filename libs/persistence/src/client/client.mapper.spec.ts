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
  subjectType: 'pairwise',
  sectorIdentifierUri: 'https://rp.example/sector.json',
  clientProfile: 'fapi-ciba',
};

function entityOf(c: Client): ClientEntity {
  return { ...fromClient(c), createdAt: new Date(0), updatedAt: new Date(0) };
}

describe('client mapper', () => {
  it('round-trips a client', () => {
    expect(toClient(entityOf(client))).toEqual(client);
    expect(toClient(entityOf({ ...client, backchannelAuthenticationRequestSigningAlg: null })).backchannelAuthenticationRequestSigningAlg).toBeNull();
    expect(toClient(entityOf({ ...client, clientProfile: undefined })).clientProfile).toBeNull();
  });

  it('refuses values outside the protocol vocabulary instead of passing them on', () => {
    expect(() => toClient({ ...entityOf(client), tokenEndpointAuthMethod: 'none' })).toThrow('clients.token_endpoint_auth_method');
    expect(() => toClient({ ...entityOf(client), idTokenSignedResponseAlg: 'HS256' })).toThrow('clients.id_token_signed_response_alg');
    expect(() => toClient({ ...entityOf(client), backchannelTokenDeliveryMode: 'email' })).toThrow();
    expect(() => toClient({ ...entityOf(client), backchannelAuthenticationRequestSigningAlg: 'none' })).toThrow('clients.backchannel_authentication_request_signing_alg');
    expect(() => toClient({ ...entityOf(client), subjectType: 'ppid' })).toThrow('clients.subject_type');
    expect(() => toClient({ ...entityOf(client), clientProfile: 'fapi-2' })).toThrow('clients.client_profile');
  });

  it('RFC 8705 round-trips the tls_client_auth subject into its own column and certificate-bound tokens; a row with two subjects is refused', () => {
    const tls: Client = { ...client, tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubject: { kind: 'san_uri', value: 'https://rp.example/c' }, tlsClientCertificateBoundAccessTokens: true };
    const entity = entityOf(tls);
    expect(entity.tlsClientAuthSanUri).toBe('https://rp.example/c');
    expect([entity.tlsClientAuthSubjectDn, entity.tlsClientAuthSanDns, entity.tlsClientAuthSanIp, entity.tlsClientAuthSanEmail]).toEqual([null, null, null, null]);
    expect(toClient(entity)).toEqual(tls);
    expect(entityOf(client).tlsClientCertificateBoundAccessTokens).toBe(false);
    expect(() => toClient({ ...entity, tlsClientAuthSanDns: 'rp.example' })).toThrow('more than one subject');
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
