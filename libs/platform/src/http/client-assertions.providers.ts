import { readFileSync } from 'node:fs';
import type { Provider } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { JwksFetcher } from '@ciba/outbound';
import { PostgresClientAssertionJtis } from '@ciba/persistence';
import { ClientAssertionVerifier, ClientJwksCache, KeyEncryptor } from '@ciba/tokens';
import { notificationEndpointPolicy } from '../outbound/endpoint-policy.js';

/**
 * The JWT client assertion verifier (RFC 7523) of a service. A client's jwks_uri is fetched under the
 * outbound policy of notification endpoints (the same SSRF rules, loopback allowance and extra CA:
 * CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK, CIBA_CALLBACK_ALLOWED_CIDRS, CIBA_CALLBACK_CA_FILE), so one
 * setting governs every URL a client registers. Secrets of client_secret_jwt clients are unsealed
 * with the key encryption key, which every service that authenticates clients holds.
 */
export function clientAssertionProviders(config: ProviderConfig, clock: Clock): Provider[] {
  return [
    {
      provide: ClientAssertionVerifier,
      inject: [PostgresClientAssertionJtis],
      useFactory: (jtis: PostgresClientAssertionJtis) => {
        const fetcher = new JwksFetcher({
          policy: notificationEndpointPolicy(config),
          connectTimeoutMs: config.callbacks.connectTimeoutMs,
          responseTimeoutMs: config.callbacks.responseTimeoutMs,
          ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
          userAgent: 'ciba-provider',
        });
        const jwksCache = new ClientJwksCache({
          fetch: (uri) => fetcher.fetch(uri),
          cacheMs: config.clientAuth.jwksCacheMs,
          refetchIntervalMs: config.clientAuth.jwksRefetchIntervalMs,
          now: () => clock.now().getTime(),
        });
        return new ClientAssertionVerifier({
          jtis,
          jwksCache,
          encryptor: config.keys.encryptionKey ? new KeyEncryptor(config.keys.encryptionKey) : null,
          clock,
          issuer: config.issuer,
          maxLifetimeMs: config.clientAuth.assertionMaxLifetimeMs,
          clockSkewMs: config.clientAuth.assertionClockSkewMs,
        });
      },
    },
  ];
}
