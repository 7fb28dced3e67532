import { CIBA_GRANT_TYPE } from './constants.js';
import { DPOP_SIGNING_ALGS } from './dpop.js';
import { SUBJECT_TYPES } from './pairwise-sector.js';
import type { ClientAuthMethod, SigningAlg, TokenDeliveryMode } from './constants.js';

export interface DiscoveryInput {
  readonly issuer: string;
  readonly backchannelAuthenticationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly userinfoEndpoint?: string;
  /** RFC 8414 §2 / RFC 7591 §3: advertised only while dynamic client registration is enabled. */
  readonly registrationEndpoint?: string;
  /**
   * RFC 8414 §2: introspection (RFC 7662) and revocation (RFC 7009) endpoints. Both take the token
   * endpoint's client authentication, so they are advertised with its methods and algorithms.
   */
  readonly introspectionEndpoint?: string;
  readonly revocationEndpoint?: string;
  readonly scopesSupported: readonly string[];
  /**
   * This OP has no authorization endpoint, so it supports no response type. OIDC Discovery §3
   * lists the field as REQUIRED, hence it is published, empty by default rather than claiming a
   * flow we do not serve.
   */
  readonly responseTypesSupported?: readonly string[];
  /** Must include the CIBA grant; usually also refresh_token. */
  readonly grantTypesSupported: readonly string[];
  readonly backchannelTokenDeliveryModesSupported: readonly TokenDeliveryMode[];
  readonly backchannelUserCodeParameterSupported: boolean;
  /** CIBA §4: the algorithms a signed authentication request (§7.1.1) may use; absent or empty, none is accepted. */
  readonly backchannelAuthenticationRequestSigningAlgValuesSupported?: readonly SigningAlg[];
  readonly tokenEndpointAuthMethodsSupported: readonly ClientAuthMethod[];
  /** OpenID Connect Discovery 1.0 §3: the algorithms client_secret_jwt and private_key_jwt assertions may use. */
  readonly tokenEndpointAuthSigningAlgValuesSupported?: readonly string[];
  readonly idTokenSigningAlgValuesSupported: readonly SigningAlg[];
  readonly claimsSupported: readonly string[];
  readonly acrValuesSupported?: readonly string[];
  /** RFC 8705 §3.3: certificate-bound access tokens are issued (mutual TLS is configured). */
  readonly tlsClientCertificateBoundAccessTokens?: boolean;
}

/**
 * OpenID Connect Discovery 1.0 §3 metadata with the CIBA §4 additions. A type alias, not an
 * interface, so it stays assignable to `Record<string, unknown>` for JSON responses.
 */
export type OpenIdProviderMetadata = {
  issuer: string;
  backchannel_authentication_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  registration_endpoint?: string;
  introspection_endpoint?: string;
  introspection_endpoint_auth_methods_supported?: string[];
  introspection_endpoint_auth_signing_alg_values_supported?: string[];
  revocation_endpoint?: string;
  revocation_endpoint_auth_methods_supported?: string[];
  revocation_endpoint_auth_signing_alg_values_supported?: string[];
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported?: string[];
  claims_supported: string[];
  acr_values_supported?: string[];
  backchannel_token_delivery_modes_supported: string[];
  backchannel_user_code_parameter_supported: boolean;
  backchannel_authentication_request_signing_alg_values_supported?: string[];
  authorization_details_types_supported?: string[];
  tls_client_certificate_bound_access_tokens?: boolean;
  dpop_signing_alg_values_supported: string[];
};

/**
 * Builds the document once at boot. backchannel_authentication_request_signing_alg_values_supported
 * is published only when signed requests are accepted (CIBA §4: its absence means they are not).
 * request_parameter_supported is not: OpenID Connect Discovery defines it for the authorization
 * endpoint, which this provider does not have. A configuration that cannot serve CIBA fails here, at boot.
 */
export function buildDiscoveryDocument(input: DiscoveryInput): OpenIdProviderMetadata {
  if (!input.grantTypesSupported.includes(CIBA_GRANT_TYPE)) {
    throw new Error(`grant_types_supported must include ${CIBA_GRANT_TYPE}`);
  }
  if (input.backchannelTokenDeliveryModesSupported.length === 0) {
    throw new Error('backchannel_token_delivery_modes_supported must not be empty');
  }
  return {
    issuer: input.issuer,
    backchannel_authentication_endpoint: input.backchannelAuthenticationEndpoint,
    token_endpoint: input.tokenEndpoint,
    jwks_uri: input.jwksUri,
    ...(input.userinfoEndpoint === undefined ? {} : { userinfo_endpoint: input.userinfoEndpoint }),
    ...(input.registrationEndpoint === undefined ? {} : { registration_endpoint: input.registrationEndpoint }),
    scopes_supported: [...input.scopesSupported],
    response_types_supported: [...(input.responseTypesSupported ?? [])],
    grant_types_supported: [...input.grantTypesSupported],
    // OpenID Connect Core §8: public by default, pairwise per client (`subject_type`).
    subject_types_supported: [...SUBJECT_TYPES],
    id_token_signing_alg_values_supported: [...input.idTokenSigningAlgValuesSupported],
    token_endpoint_auth_methods_supported: [...input.tokenEndpointAuthMethodsSupported],
    ...(input.tokenEndpointAuthSigningAlgValuesSupported === undefined
      ? {}
      : { token_endpoint_auth_signing_alg_values_supported: [...input.tokenEndpointAuthSigningAlgValuesSupported] }),
    claims_supported: [...input.claimsSupported],
    ...(input.acrValuesSupported === undefined ? {} : { acr_values_supported: [...input.acrValuesSupported] }),
    backchannel_token_delivery_modes_supported: [...input.backchannelTokenDeliveryModesSupported],
    backchannel_user_code_parameter_supported: input.backchannelUserCodeParameterSupported,
    ...(input.backchannelAuthenticationRequestSigningAlgValuesSupported === undefined || input.backchannelAuthenticationRequestSigningAlgValuesSupported.length === 0
      ? {}
      : { backchannel_authentication_request_signing_alg_values_supported: [...input.backchannelAuthenticationRequestSigningAlgValuesSupported] }),
    ...(input.tlsClientCertificateBoundAccessTokens === true ? { tls_client_certificate_bound_access_tokens: true } : {}),
    // RFC 9449 §5.1: DPoP proofs are always accepted, with these algorithms.
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
    ...(input.introspectionEndpoint === undefined ? {} : endpointWithClientAuth('introspection', input.introspectionEndpoint, input)),
    ...(input.revocationEndpoint === undefined ? {} : endpointWithClientAuth('revocation', input.revocationEndpoint, input)),
  };
}

/** RFC 8414 §2 `<name>_endpoint` with the token endpoint's authentication methods and algorithms. */
function endpointWithClientAuth(name: 'introspection' | 'revocation', url: string, input: DiscoveryInput): Record<string, string | string[]> {
  return {
    [`${name}_endpoint`]: url,
    [`${name}_endpoint_auth_methods_supported`]: [...input.tokenEndpointAuthMethodsSupported],
    ...(input.tokenEndpointAuthSigningAlgValuesSupported === undefined
      ? {}
      : { [`${name}_endpoint_auth_signing_alg_values_supported`]: [...input.tokenEndpointAuthSigningAlgValuesSupported] }),
  };
}

/**
 * RFC 9396 §10: `authorization_details_types_supported`, the types this provider accepts, which are
 * the types its clients registered (sorted, without duplicates). Left out when no client registered
 * any: the provider then accepts no authorization_details at all.
 */
export function withAuthorizationDetailsTypes(document: OpenIdProviderMetadata, types: readonly string[]): OpenIdProviderMetadata {
  const rest = { ...document };
  delete rest.authorization_details_types_supported;
  const supported = [...new Set(types)].sort();
  return supported.length === 0 ? rest : { ...rest, authorization_details_types_supported: supported };
}
