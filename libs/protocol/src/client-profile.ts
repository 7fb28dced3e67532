import type { SigningAlg, TokenDeliveryMode } from './constants.js';
import { invalidRequest } from './errors.js';

/**
 * Client profiles: a named set of registration and request rules a client opts into with the
 * `client_profile` registration metadata. `fapi-ciba` is the FAPI Client Initiated Backchannel
 * Authentication Profile (FAPI-CIBA, on FAPI 1.0 Advanced).
 */
export const CLIENT_PROFILES = ['fapi-ciba'] as const;
export type ClientProfile = (typeof CLIENT_PROFILES)[number];

/** FAPI 1.0 Advanced §8.6: JWS algorithms are PS256 or ES256, for every JWT the profile touches. */
export const FAPI_SIGNING_ALGS = ['PS256', 'ES256'] as const satisfies readonly SigningAlg[];

/** FAPI 1.0 Advanced §5.2.2 (14): the client authentication methods the profile admits. */
export const FAPI_CLIENT_AUTH_METHODS = ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'] as const;

/** The registration metadata the profile constrains, by RFC 7591 / CIBA / RFC 8705 / RFC 9449 names. */
export interface ProfiledClientMetadata {
  readonly client_profile?: ClientProfile | undefined;
  readonly token_endpoint_auth_method: string;
  readonly token_endpoint_auth_signing_alg?: string | undefined;
  readonly backchannel_token_delivery_mode: TokenDeliveryMode;
  readonly backchannel_authentication_request_signing_alg?: string | undefined;
  readonly id_token_signed_response_alg?: string | undefined;
  readonly tls_client_certificate_bound_access_tokens?: boolean | undefined;
  readonly dpop_bound_access_tokens?: boolean | undefined;
}

const isFapiAlg = (alg: string | undefined): boolean => alg !== undefined && (FAPI_SIGNING_ALGS as readonly string[]).includes(alg);

/**
 * What a client registered with `client_profile: fapi-ciba` must also register, each problem one
 * message (empty when the registration fits the profile, or names no profile):
 * - FAPI-CIBA §5.2.2: only signed authentication requests (CIBA §7.1.1), so
 *   `backchannel_authentication_request_signing_alg`, PS256 or ES256;
 * - FAPI-CIBA §5.2.2: no push mode (tokens leave only from the token endpoint, where they are
 *   sender-constrained);
 * - FAPI 1.0 Advanced §5.2.2 (14): `private_key_jwt` (with PS256 or ES256 as its
 *   `token_endpoint_auth_signing_alg`), `tls_client_auth` or `self_signed_tls_client_auth`;
 * - FAPI 1.0 Advanced §5.2.2 (5): sender-constrained access tokens, by certificate (RFC 8705
 *   `tls_client_certificate_bound_access_tokens`) or DPoP (RFC 9449 `dpop_bound_access_tokens`);
 * - FAPI 1.0 Advanced §8.6: ID tokens signed with PS256 or ES256 (`id_token_signed_response_alg`).
 */
export function clientProfileProblems(metadata: ProfiledClientMetadata): string[] {
  if (metadata.client_profile !== 'fapi-ciba') return [];
  const problems: string[] = [];
  const algs = FAPI_SIGNING_ALGS.join(' or ');
  if (!isFapiAlg(metadata.backchannel_authentication_request_signing_alg)) {
    problems.push(`fapi-ciba needs signed authentication requests: backchannel_authentication_request_signing_alg ${algs}`);
  }
  if (metadata.backchannel_token_delivery_mode === 'push') problems.push('fapi-ciba does not allow the push token delivery mode; use poll or ping');
  const method = metadata.token_endpoint_auth_method;
  if (!(FAPI_CLIENT_AUTH_METHODS as readonly string[]).includes(method)) {
    problems.push(`fapi-ciba needs token_endpoint_auth_method ${FAPI_CLIENT_AUTH_METHODS.join(', ')}; not ${method}`);
  } else if (method === 'private_key_jwt' && !isFapiAlg(metadata.token_endpoint_auth_signing_alg)) {
    problems.push(`fapi-ciba needs token_endpoint_auth_signing_alg ${algs} for private_key_jwt`);
  }
  if (metadata.tls_client_certificate_bound_access_tokens !== true && metadata.dpop_bound_access_tokens !== true) {
    problems.push('fapi-ciba needs sender-constrained access tokens: tls_client_certificate_bound_access_tokens or dpop_bound_access_tokens true');
  }
  if (!isFapiAlg(metadata.id_token_signed_response_alg)) problems.push(`fapi-ciba needs id_token_signed_response_alg ${algs}`);
  return problems;
}

/**
 * FAPI-CIBA §5.2.2: the provider "shall ensure unique authorization context exists in the
 * authorization request or require a binding_message". This provider requires the binding
 * message from every fapi-ciba client: it is what the user compares between the two devices.
 */
export function checkProfileBindingMessage(profile: ClientProfile | null | undefined, bindingMessage: string | null): void {
  if (profile === 'fapi-ciba' && bindingMessage === null) {
    throw invalidRequest('binding_message is required for this client (FAPI-CIBA profile)');
  }
}
