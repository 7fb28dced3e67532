import { readFileSync } from 'node:fs';
import type { Provider } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import { EndpointPolicy, EndpointRejected, JsonPoster, JwksFetcher } from '@ciba/outbound';
import { ClientJwksCache, LoginHintTokenVerifier } from '@ciba/tokens';
import { CLOCK, PROVIDER_CONFIG } from '@ciba/platform';
import { LoginHintDirectory } from './login-hint-directory.js';

/** The user directory resolving login_hints, or null when none is configured. */
export const LOGIN_HINT_DIRECTORY = Symbol('LOGIN_HINT_DIRECTORY');

/**
 * Outbound requests to the directory and to login_hint_token issuers' jwks_uri follow the outbound
 * policy of notification endpoints (https; plain http only to loopback with
 * CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK; no private, loopback, link-local or metadata address unless
 * allow-listed; pinned to the checked address; no redirects; CIBA_CALLBACK_CA_FILE trusted). A
 * directory on a private network is allowed by listing its range in
 * CIBA_LOGIN_HINT_DIRECTORY_ALLOWED_CIDRS, which applies to the directory only.
 */
export const hintProviders: Provider[] = [
  {
    provide: LOGIN_HINT_DIRECTORY,
    inject: [PROVIDER_CONFIG, CLOCK],
    useFactory: (config: ProviderConfig, clock: Clock): LoginHintDirectory | null => {
      const directory = config.hints.directory;
      if (directory === null) return null;
      const policy = new EndpointPolicy({
        allowInsecureLoopback: config.callbacks.allowHttpLoopback,
        allowedCidrs: [...config.callbacks.allowedCidrs, ...directory.allowedCidrs],
      });
      try {
        policy.checkUrl(directory.url);
      } catch (error) {
        if (error instanceof EndpointRejected) throw new Error(`CIBA_LOGIN_HINT_DIRECTORY_URL: ${error.message}`);
        throw error;
      }
      const poster = new JsonPoster({
        policy,
        connectTimeoutMs: directory.timeoutMs,
        responseTimeoutMs: directory.timeoutMs,
        ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
        userAgent: 'ciba-provider',
      });
      return new LoginHintDirectory({ config: directory, post: (url, body, headers) => poster.post(url, body, headers), now: () => clock.now().getTime() });
    },
  },
  {
    provide: LoginHintTokenVerifier,
    inject: [PROVIDER_CONFIG, CLOCK],
    useFactory: (config: ProviderConfig, clock: Clock): LoginHintTokenVerifier => {
      const fetcher = new JwksFetcher({
        policy: new EndpointPolicy({ allowInsecureLoopback: config.callbacks.allowHttpLoopback, allowedCidrs: config.callbacks.allowedCidrs }),
        connectTimeoutMs: config.callbacks.connectTimeoutMs,
        responseTimeoutMs: config.callbacks.responseTimeoutMs,
        ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
        userAgent: 'ciba-provider',
      });
      // Issuers' key sets are cached apart from clients' key sets, under the same timings.
      const jwksCache = new ClientJwksCache({
        fetch: (uri) => fetcher.fetch(uri),
        cacheMs: config.clientAuth.jwksCacheMs,
        refetchIntervalMs: config.clientAuth.jwksRefetchIntervalMs,
        now: () => clock.now().getTime(),
      });
      return new LoginHintTokenVerifier({
        issuers: config.hints.loginHintTokenIssuers,
        jwksCache,
        now: () => clock.now(),
        clockSkewMs: config.clientAuth.assertionClockSkewMs,
      });
    },
  },
];
