import type { ClientAuthMethod, ClientProfile, ClientSecretJwtAlg, SigningAlg, SubjectType, TokenDeliveryMode } from '@ciba/protocol';

/** A JWK Set of public keys (RFC 7517 §5), as registered; checked for private members at registration. */
export interface PublicJwkSet {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/**
 * RFC 8705 §2.1.2: the one subject a tls_client_auth client's certificate must carry — its subject
 * DN (an RFC 4514 string) or a subjectAltName entry (dNSName, URI, IP address or rfc822Name).
 */
export interface TlsClientAuthSubject {
  readonly kind: 'subject_dn' | 'san_dns' | 'san_uri' | 'san_ip' | 'san_email';
  readonly value: string;
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
  /**
   * The client profile it registered (`client_profile`): `fapi-ciba` holds the client to the
   * FAPI-CIBA profile (see protocol lib `clientProfileProblems`); absent or null: none.
   */
  readonly clientProfile?: ClientProfile | null;
  /** RFC 8705 §2.1.2 tls_client_auth: the certificate subject this client is known by; null for other methods. */
  readonly tlsClientAuthSubject?: TlsClientAuthSubject | null;
  /** RFC 8705 §3: access tokens bound to the client's certificate (`cnf.x5t#S256`); absent means false. */
  readonly tlsClientCertificateBoundAccessTokens?: boolean;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request must carry a DPoP proof; absent means false. */
  readonly dpopBoundAccessTokens?: boolean;
  /**
   * OpenID Connect Core §8 `subject_type`: `pairwise` gives the client the `sub` of its sector
   * (§8.1) instead of the user's own; absent means `public`.
   */
  readonly subjectType?: SubjectType;
  /** OpenID Connect Dynamic Client Registration §2 `sector_identifier_uri`: its host is the pairwise sector; null: none. */
  readonly sectorIdentifierUri?: string | null;
}

/**
 * The client a request names is no longer registered: deleted (RFC 7592 §2.3) after this process
 * authenticated it, e.g. on another replica while this one still held it.
 */
export class ClientNoLongerRegistered extends Error {
  constructor(readonly clientId: string) {
    super('the client is no longer registered');
    this.name = 'ClientNoLongerRegistered';
  }
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
