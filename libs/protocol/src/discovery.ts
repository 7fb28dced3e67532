import { CIBA_GRANT_TYPE } from './constants.js';
import type { ClientAuthMethod, SigningAlg, TokenDeliveryMode } from './constants.js';

export interface DiscoveryInput {
  readonly issuer: string;
  readonly backchannelAuthenticationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly userinfoEndpoint?: string;
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
  readonly tokenEndpointAuthMethodsSupported: readonly ClientAuthMethod[];
  /** OpenID Connect Discovery 1.0 §3: the algorithms client_secret_jwt and private_key_jwt assertions may use. */
  readonly tokenEndpointAuthSigningAlgValuesSupported?: readonly string[];
  readonly idTokenSigningAlgValuesSupported: readonly SigningAlg[];
  readonly claimsSupported: readonly string[];
  readonly acrValuesSupported?: readonly string[];
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
  authorization_details_types_supported?: string[];
};

/**
 * Builds the document once at boot. Signed authentication requests are not supported, so
 * backchannel_authentication_request_signing_alg_values_supported is left out (CIBA §4: its
 * absence means none). A configuration that cannot serve CIBA fails here, at boot.
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
    scopes_supported: [...input.scopesSupported],
    response_types_supported: [...(input.responseTypesSupported ?? [])],
    grant_types_supported: [...input.grantTypesSupported],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...input.idTokenSigningAlgValuesSupported],
    token_endpoint_auth_methods_supported: [...input.tokenEndpointAuthMethodsSupported],
    ...(input.tokenEndpointAuthSigningAlgValuesSupported === undefined
      ? {}
      : { token_endpoint_auth_signing_alg_values_supported: [...input.tokenEndpointAuthSigningAlgValuesSupported] }),
    claims_supported: [...input.claimsSupported],
    ...(input.acrValuesSupported === undefined ? {} : { acr_values_supported: [...input.acrValuesSupported] }),
    backchannel_token_delivery_modes_supported: [...input.backchannelTokenDeliveryModesSupported],
    backchannel_user_code_parameter_supported: input.backchannelUserCodeParameterSupported,
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
