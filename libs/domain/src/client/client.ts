import type { ClientAuthMethod, ClientSecretJwtAlg, SigningAlg, TokenDeliveryMode } from '@ciba/protocol';

/** A JWK Set of public keys (RFC 7517 §5), as registered; checked for private members at registration. */
export interface PublicJwkSet {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/** A registered client, with RFC 7591 / CIBA registration metadata. */
export interface Client {
  readonly clientId: string;
  readonly clientName: string;
  /** scrypt hash of the secret (see tokens lib `SecretHasher`), never the secret itself. */
  readonly clientSecretHash: string;
  readonly tokenEndpointAuthMethod: ClientAuthMethod;
  /**
   * client_secret_jwt only: the secret sealed with the provider's key encryption key (tokens lib
   * `KeyEncryptor`), since an HMAC needs the secret itself; null for every other method.
   */
  readonly clientSecretSealed: string | null;
  /** private_key_jwt (RFC 7591 §2 `jwks`): the client's public keys, given inline. */
  readonly jwks: PublicJwkSet | null;
  /** private_key_jwt (RFC 7591 §2 `jwks_uri`): where the client publishes its public keys. */
  readonly jwksUri: string | null;
  /** OpenID Connect Dynamic Client Registration 1.0 §2: the only algorithm its assertions may use; null: any supported. */
  readonly tokenEndpointAuthSigningAlg: SigningAlg | ClientSecretJwtAlg | null;
  /**
   * CIBA Core 1.0 §4 `backchannel_authentication_request_signing_alg`: when set, every
   * authentication request must be a request object signed with this algorithm and one of the
   * client's registered keys; absent or null, a signed request is optional.
   */
  readonly backchannelAuthenticationRequestSigningAlg?: SigningAlg | null;
  readonly grantTypes: readonly string[];
  readonly scope: readonly string[];
  readonly backchannelTokenDeliveryMode: TokenDeliveryMode;
  readonly backchannelClientNotificationEndpoint: string | null;
  readonly backchannelUserCodeParameter: boolean;
  readonly idTokenSignedResponseAlg: SigningAlg | null;
  /** RFC 9396 §10: the authorization_details types this client may request; empty means none. */
  readonly authorizationDetailsTypes: readonly string[];
  /**
   * OpenID Connect Dynamic Client Registration 1.0 §2: the acr values a request without
   * `acr_values` asks for (a passkey-level value there makes every such request need a passkey).
   */
  readonly defaultAcrValues: readonly string[];
}

declare const authenticated: unique symbol;

/**
 * A client whose credentials were verified for this request. Only client authentication creates
 * one (`asAuthenticatedClient`), and every lookup by `auth_req_id` takes one, so an unscoped
 * lookup cannot be written.
 */
export type AuthenticatedClient = Client & { readonly [authenticated]: true };

/** For the client-authentication step only. */
export function asAuthenticatedClient(client: Client): AuthenticatedClient {
  return client as AuthenticatedClient;
}
