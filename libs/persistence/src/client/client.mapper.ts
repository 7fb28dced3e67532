import type { Client, TlsClientAuthSubject } from '@ciba/domain';
import { CLIENT_AUTH_METHODS, CLIENT_PROFILES, CLIENT_SECRET_JWT_ALGS, REQUEST_OBJECT_ALGS, SIGNING_ALGS, SUBJECT_TYPES, TOKEN_DELIVERY_MODES } from '@ciba/protocol';
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
    clientProfile: entity.clientProfile === null ? null : oneOf(entity.clientProfile, CLIENT_PROFILES, 'clients.client_profile'),
    subjectType: oneOf(entity.subjectType, SUBJECT_TYPES, 'clients.subject_type'),
    sectorIdentifierUri: entity.sectorIdentifierUri,
    ...tlsClientAuthOf(entity),
    ...(entity.dpopBoundAccessTokens ? { dpopBoundAccessTokens: true } : {}),
  };
}

/** RFC 8705 client metadata, present on the domain client only when set (so clients without it compare as before). */
function tlsClientAuthOf(entity: ClientEntity): Pick<Client, 'tlsClientAuthSubject' | 'tlsClientCertificateBoundAccessTokens'> {
  const subjects: [TlsClientAuthSubject['kind'], string | null][] = [
    ['subject_dn', entity.tlsClientAuthSubjectDn],
    ['san_dns', entity.tlsClientAuthSanDns],
    ['san_uri', entity.tlsClientAuthSanUri],
    ['san_ip', entity.tlsClientAuthSanIp],
    ['san_email', entity.tlsClientAuthSanEmail],
  ];
  const set = subjects.filter(([, value]) => value !== null);
  if (set.length > 1) throw new Error('clients.tls_client_auth_*: more than one subject is set');
  return {
    ...(set.length === 1 ? { tlsClientAuthSubject: { kind: set[0][0], value: set[0][1] as string } } : {}),
    ...(entity.tlsClientCertificateBoundAccessTokens ? { tlsClientCertificateBoundAccessTokens: true } : {}),
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
    clientProfile: client.clientProfile ?? null,
    subjectType: client.subjectType ?? 'public',
    sectorIdentifierUri: client.sectorIdentifierUri ?? null,
    tlsClientAuthSubjectDn: tlsSubject(client, 'subject_dn'),
    tlsClientAuthSanDns: tlsSubject(client, 'san_dns'),
    tlsClientAuthSanUri: tlsSubject(client, 'san_uri'),
    tlsClientAuthSanIp: tlsSubject(client, 'san_ip'),
    tlsClientAuthSanEmail: tlsSubject(client, 'san_email'),
    tlsClientCertificateBoundAccessTokens: client.tlsClientCertificateBoundAccessTokens ?? false,
    dpopBoundAccessTokens: client.dpopBoundAccessTokens ?? false,
  };
}

function tlsSubject(client: Client, kind: TlsClientAuthSubject['kind']): string | null {
  return client.tlsClientAuthSubject?.kind === kind ? client.tlsClientAuthSubject.value : null;
}
