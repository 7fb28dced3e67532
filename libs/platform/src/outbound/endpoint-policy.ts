import type { ProviderConfig } from '@ciba/config';
import { EndpointPolicy } from '@ciba/outbound';

/**
 * The SSRF policy for clients' notification endpoints (CIBA §4: HTTPS only), shared by registration
 * (bootstrap) and delivery (callback dispatcher), so what was accepted is what gets called.
 */
export function notificationEndpointPolicy(config: ProviderConfig): EndpointPolicy {
  return new EndpointPolicy({ allowInsecureLoopback: config.callbacks.allowHttpLoopback, allowedCidrs: config.callbacks.allowedCidrs });
}
