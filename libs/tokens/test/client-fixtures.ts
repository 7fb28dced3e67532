import type { Client, ClientAssertionJtis } from '@ciba/domain';
import { ClientJwksCache } from '../src/client-jwks-cache.js';

/** The jti store in memory: each (key, jti) claimed once; `seen` keeps the expiry each was claimed with. */
export class MemoryJtis implements ClientAssertionJtis {
  readonly seen = new Map<string, Date>();
  claim(key: string, jti: string, expiresAt: Date): Promise<boolean> {
    const id = `${key} ${jti}`;
    if (this.seen.has(id)) return Promise.resolve(false);
    this.seen.set(id, expiresAt);
    return Promise.resolve(true);
  }
}

/** A registered poll client with no keys and no options; `overrides` sets what a test is about. */
export function aClient(overrides: Partial<Client> = {}): Client {
  return {
    clientId: 'rp-1',
    clientName: 'RP',
    clientSecretHash: 'scrypt$x',
    tokenEndpointAuthMethod: 'client_secret_basic',
    clientSecretSealed: null,
    jwks: null,
    jwksUri: null,
    tokenEndpointAuthSigningAlg: null,
    backchannelAuthenticationRequestSigningAlg: null,
    grantTypes: ['urn:openid:params:grant-type:ciba'],
    scope: ['openid'],
    backchannelTokenDeliveryMode: 'poll',
    backchannelClientNotificationEndpoint: null,
    backchannelUserCodeParameter: false,
    idTokenSignedResponseAlg: null,
    authorizationDetailsTypes: [],
    defaultAcrValues: [],
    ...overrides,
  };
}

/** A key set cache for clients with inline `jwks` only: any `jwks_uri` fetch fails. */
export function inlineJwksCache(): ClientJwksCache {
  return new ClientJwksCache({ fetch: () => Promise.reject(new Error('no jwks_uri here')), cacheMs: 60_000, refetchIntervalMs: 60_000 });
}
