import { randomUUID } from 'node:crypto';
import { acceptedLifecycle, asAuthenticatedClient } from '@ciba/domain';
import type { AuthenticatedClient, AuthRequest, Client } from '@ciba/domain';
import { TypeOrmClientRepository } from '../src/index.js';
import type { DataSource } from 'typeorm';

export function aClient(overrides: Partial<Client> = {}): Client {
  return {
    clientId: `client-${randomUUID()}`,
    clientName: 'Test client',
    clientSecretHash: 'scrypt$test$hash',
    tokenEndpointAuthMethod: 'client_secret_basic',
    clientSecretSealed: null,
    jwks: null,
    jwksUri: null,
    tokenEndpointAuthSigningAlg: null,
    grantTypes: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
    scope: ['openid', 'profile'],
    backchannelTokenDeliveryMode: 'poll',
    backchannelClientNotificationEndpoint: null,
    backchannelUserCodeParameter: false,
    backchannelAuthenticationRequestSigningAlg: null,
    idTokenSignedResponseAlg: null,
    authorizationDetailsTypes: [],
    defaultAcrValues: [],
    subjectType: 'public',
    sectorIdentifierUri: null,
    clientProfile: null,
    ...overrides,
  };
}

/** Registers a client and returns it as if it had just authenticated. */
export async function registeredClient(dataSource: DataSource, overrides: Partial<Client> = {}): Promise<AuthenticatedClient> {
  const client = aClient(overrides);
  await new TypeOrmClientRepository(dataSource).upsert(client);
  return asAuthenticatedClient(client);
}

export const T0 = new Date('2030-01-01T00:00:00.000Z');

export function at(secondsAfterT0: number): Date {
  return new Date(T0.getTime() + secondsAfterT0 * 1000);
}

export function anAuthRequest(clientId: string, overrides: Partial<AuthRequest> = {}): AuthRequest {
  return {
    id: randomUUID(),
    clientId,
    subject: 'user-1',
    scope: ['openid'],
    acrValues: [],
    bindingMessage: null,
    authorizationDetails: null,
    hintType: 'login_hint',
    deliveryMode: 'poll',
    sealedClientNotificationToken: null,
    createdAt: T0,
    expiresAt: at(120),
    interval: 5,
    correlationId: null,
    traceContext: null,
    ...acceptedLifecycle(),
    ...overrides,
  };
}
