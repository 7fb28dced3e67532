import type { Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DEFAULT_DPOP_SETTINGS, type ProviderConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { PostgresClientAssertionJtis } from '@ciba/persistence';
import { DpopNonces, DpopProofVerifier } from '@ciba/tokens';

/**
 * The DPoP proof verifier (RFC 9449) of a service that issues or accepts access tokens: proofs'
 * jtis single-use across replicas in the client assertion store (its own namespace, keyed by the
 * proof key's thumbprint), server nonces derived from the key encryption key (no state to share).
 */
export function dpopProviders(config: ProviderConfig, clock: Clock): Provider[] {
  const settings = config.dpop ?? DEFAULT_DPOP_SETTINGS;
  return [
    {
      provide: DpopProofVerifier,
      inject: [DataSource],
      useFactory: (dataSource: DataSource) =>
        new DpopProofVerifier({
          jtis: new PostgresClientAssertionJtis(dataSource, 'dpop'),
          clock,
          iatWindowSeconds: settings.iatWindowSeconds,
          nonces: settings.nonceRequired
            ? new DpopNonces(config.keys.encryptionKey, { lifetimeSeconds: settings.nonceLifetimeSeconds, now: () => clock.now() })
            : null,
        }),
    },
  ];
}
