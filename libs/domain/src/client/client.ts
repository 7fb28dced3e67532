import type { ClientAuthMethod, SigningAlg, TokenDeliveryMode } from '@ciba/protocol';

/** A registered client, with RFC 7591 / CIBA registration metadata. */
export interface Client {
  readonly clientId: string;
  readonly clientName: string;
  /** scrypt hash of the secret (see tokens lib `SecretHasher`), never the secret itself. */
  readonly clientSecretHash: string;
  readonly tokenEndpointAuthMethod: ClientAuthMethod;
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
