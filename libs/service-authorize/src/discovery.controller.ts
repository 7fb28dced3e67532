import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { ClientRepository } from '@ciba/domain';
import {
  CIBA_GRANT_TYPE,
  CLIENT_SECRET_JWT_ALGS,
  SIGNING_ALGS,
  type OpenIdProviderMetadata,
  REFRESH_TOKEN_GRANT_TYPE,
  REQUEST_OBJECT_ALGS,
  buildDiscoveryDocument,
  withAuthorizationDetailsTypes,
} from '@ciba/protocol';
import { KeyStore } from '@ciba/tokens';
import { CLIENT_REPOSITORY, PROVIDER_CONFIG } from '@ciba/platform';
import { tokenEndpointAuthMethodsSupported } from './registration/registration-metadata.js';

export const JWKS_PATH = '/jwks';

/** OpenID Connect Discovery 1.0 §3 with the CIBA §4 metadata, and the JWKS it points at. */
@Controller()
export class DiscoveryController {
  private readonly document: OpenIdProviderMetadata;

  constructor(
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
    @Inject(CLIENT_REPOSITORY) private readonly clients: ClientRepository,
    private readonly keyStore: KeyStore,
  ) {
    this.document = buildDiscoveryDocument({
      issuer: config.issuer,
      backchannelAuthenticationEndpoint: `${config.publicUrls.authorize}/bc-authorize`,
      tokenEndpoint: `${config.publicUrls.token}/token`,
      // The token service's introspection (RFC 7662), revocation (RFC 7009) and UserInfo (OIDC Core §5.3).
      introspectionEndpoint: `${config.publicUrls.token}/token/introspect`,
      revocationEndpoint: `${config.publicUrls.token}/token/revoke`,
      userinfoEndpoint: `${config.publicUrls.token}/userinfo`,
      // RFC 7591 §3: the authorize service's registration endpoint, only while registration is enabled.
      ...(config.registration.enabled ? { registrationEndpoint: `${config.publicUrls.authorize}/register` } : {}),
      jwksUri: `${config.publicUrls.authorize}${JWKS_PATH}`,
      scopesSupported: [...config.ciba.scopes],
      grantTypesSupported: [CIBA_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      backchannelTokenDeliveryModesSupported: [...config.ciba.deliveryModes],
      // CIBA §7.1: user codes are checked for clients registered with backchannel_user_code_parameter.
      backchannelUserCodeParameterSupported: true,
      // CIBA §7.1.1: request objects are verified with the client's registered public keys (`RequestObjectVerifier`).
      backchannelAuthenticationRequestSigningAlgValuesSupported: [...REQUEST_OBJECT_ALGS],
      // RFC 8705 §2: the mutual-TLS methods only when the proxy's certificate header is configured.
      tokenEndpointAuthMethodsSupported: tokenEndpointAuthMethodsSupported(config),
      tlsClientCertificateBoundAccessTokens: Boolean(config.mtls),
      // RFC 7523 client assertions: private_key_jwt with the asymmetric algorithms, client_secret_jwt with HMAC.
      tokenEndpointAuthSigningAlgValuesSupported: [...SIGNING_ALGS, ...CLIENT_SECRET_JWT_ALGS],
      // OpenID Connect Discovery 1.0 §3: every algorithm with an active key (CIBA_SIGNING_ALGS), RS256 always among them.
      idTokenSigningAlgValuesSupported: [...config.keys.signingAlgs],
      claimsSupported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'amr', 'at_hash', 'name', 'preferred_username', 'email', 'email_verified', 'phone_number', 'phone_number_verified'],
      // The ACRs this provider can assert: those a passkey step-up satisfies, when the notifier's URL
      // can host WebAuthn at all. Other requested values are accepted and passed on, never asserted.
      ...(config.stepUp.relyingParty !== null && config.stepUp.passkeyAcrValues.length > 0 ? { acrValuesSupported: [...config.stepUp.passkeyAcrValues] } : {}),
    });
  }

  @Get('.well-known/openid-configuration')
  @Header('Cache-Control', 'public, max-age=300')
  async discovery(): Promise<Record<string, unknown>> {
    // RFC 9396 §10: the types the clients registered are exactly the ones bc-authorize accepts, so
    // the union is advertised rather than a second, configured list that could disagree with them.
    return withAuthorizationDetailsTypes(this.document, await this.clients.authorizationDetailsTypes());
  }

  @Get(JWKS_PATH.slice(1))
  @Header('Content-Type', 'application/jwk-set+json')
  @Header('Cache-Control', 'public, max-age=60')
  jwks() {
    return this.keyStore.jwks();
  }
}
