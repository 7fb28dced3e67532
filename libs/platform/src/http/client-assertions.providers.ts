import { readFileSync } from 'node:fs';
import type { Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ProviderConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { JwksFetcher } from '@ciba/outbound';
import { PostgresClientAssertionJtis } from '@ciba/persistence';
import { ClientAssertionVerifier, ClientJwksCache, KeyEncryptor, RequestObjectVerifier } from '@ciba/tokens';
import { notificationEndpointPolicy } from '../outbound/endpoint-policy.js';

/**
 * The JWT client assertion verifier (RFC 7523) of a service, and the signed authentication request
 * verifier (CIBA §7.1.1), sharing one cache of clients' key sets. A client's jwks_uri is fetched under the
 * outbound policy of notification endpoints (the same SSRF rules, loopback allowance and extra CA:
 * CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK, CIBA_CALLBACK_ALLOWED_CIDRS, CIBA_CALLBACK_CA_FILE), so one
 * setting governs every URL a client registers. Secrets of client_secret_jwt clients are unsealed
 * with the key encryption key, which every service that authenticates clients holds.
 */
export function clientAssertionProviders(config: ProviderConfig, clock: Clock): Provider[] {
  return [
    {
      provide: ClientJwksCache,
      useFactory: () => {
        const fetcher = new JwksFetcher({
          policy: notificationEndpointPolicy(config),
          connectTimeoutMs: config.callbacks.connectTimeoutMs,
          responseTimeoutMs: config.callbacks.responseTimeoutMs,
          ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
          userAgent: 'ciba-provider',
        });
        return new ClientJwksCache({
          fetch: (uri) => fetcher.fetch(uri),
          cacheMs: config.clientAuth.jwksCacheMs,
          refetchIntervalMs: config.clientAuth.jwksRefetchIntervalMs,
          now: () => clock.now().getTime(),
        });
      },
    },
    {
      provide: ClientAssertionVerifier,
      inject: [PostgresClientAssertionJtis, ClientJwksCache],
      useFactory: (jtis: PostgresClientAssertionJtis, jwksCache: ClientJwksCache) =>
        new ClientAssertionVerifier({
          jtis,
          jwksCache,
          encryptor: config.keys.encryptionKey ? new KeyEncryptor(config.keys.encryptionKey) : null,
          clock,
          issuer: config.issuer,
          maxLifetimeMs: config.clientAuth.assertionMaxLifetimeMs,
          clockSkewMs: config.clientAuth.assertionClockSkewMs,
        }),
    },
    {
      provide: RequestObjectVerifier,
      inject: [DataSource, ClientJwksCache],
      useFactory: (dataSource: DataSource, jwksCache: ClientJwksCache) =>
        new RequestObjectVerifier({
          jtis: new PostgresClientAssertionJtis(dataSource, 'request_object'),
          jwksCache,
          clock,
          // CIBA §7.1.1: aud is the OP's issuer; the endpoint's URL is accepted as for client assertions.
          audiences: [config.issuer, `${config.publicUrls.authorize}/bc-authorize`],
          clockSkewMs: config.clientAuth.assertionClockSkewMs,
        }),
    },
  ];
}
