import * as oidc from 'openid-client';
import { CibaClientError, CibaProtocolError, CibaProviderError } from './errors.js';

/** How the client authenticates to the provider's backchannel and token endpoints. */
export type ClientCredentials =
  | { readonly method: 'client_secret_basic'; readonly clientSecret: string }
  | { readonly method: 'client_secret_post'; readonly clientSecret: string }
  | {
      readonly method: 'private_key_jwt';
      /** The client's signing key (a non-extractable CryptoKey is fine); `kid` names it in the assertion header. */
      readonly privateKey: oidc.CryptoKey;
      readonly kid?: string;
    };

export interface DiscoverOptions {
  /**
   * Allow plain-http endpoints. Only for a provider on loopback during development: the client
   * secret and the tokens travel on these requests.
   */
  readonly allowInsecureRequests?: boolean;
  /** Per-request timeout in seconds for discovery and every later request (openid-client's default is 30). */
  readonly timeoutSeconds?: number;
  /** A fetch to use instead of the global one (a proxy agent, request logging). */
  readonly fetch?: typeof fetch;
}

/** What the provider's discovery document says about its CIBA support. */
export interface CibaServerInfo {
  readonly issuer: string;
  readonly backchannelAuthenticationEndpoint: string;
  readonly tokenEndpoint: string;
  /** `backchannel_token_delivery_modes_supported`; empty when the provider does not say. */
  readonly deliveryModes: readonly string[];
  /** `backchannel_user_code_parameter_supported`. */
  readonly userCodeSupported: boolean;
}

/** A client configured against one provider by {@link discover}; pass it to every other function. */
export interface CibaClient {
  readonly clientId: string;
  readonly server: CibaServerInfo;
  /** The underlying openid-client configuration, for anything this kit does not wrap. */
  readonly configuration: oidc.Configuration;
}

/**
 * Reads the provider's discovery document (`/.well-known/openid-configuration` under `issuer`) and
 * returns a client authenticating as `clientId` with `credentials`. Throws {@link CibaProviderError}
 * when discovery fails or the provider advertises no `backchannel_authentication_endpoint`.
 */
export async function discover(issuer: string | URL, clientId: string, credentials: ClientCredentials, options: DiscoverOptions = {}): Promise<CibaClient> {
  const { auth, metadata } = clientAuthentication(credentials);
  const execute = options.allowInsecureRequests ? [oidc.allowInsecureRequests] : [];
  let configuration: oidc.Configuration;
  try {
    configuration = await oidc.discovery(new URL(issuer), clientId, metadata, auth, {
      execute,
      ...(options.timeoutSeconds !== undefined ? { timeout: options.timeoutSeconds } : {}),
      ...(options.fetch ? { [oidc.customFetch]: options.fetch } : {}),
    });
  } catch (err) {
    throw asKitError(err, 'discovery failed');
  }
  const as = configuration.serverMetadata();
  if (typeof as.backchannel_authentication_endpoint !== 'string') {
    throw new CibaProviderError('ciba_not_supported', `${as.issuer} advertises no backchannel_authentication_endpoint`);
  }
  if (typeof as.token_endpoint !== 'string') {
    throw new CibaProviderError('ciba_not_supported', `${as.issuer} advertises no token_endpoint`);
  }
  const modes = as['backchannel_token_delivery_modes_supported'];
  return {
    clientId,
    configuration,
    server: {
      issuer: as.issuer,
      backchannelAuthenticationEndpoint: as.backchannel_authentication_endpoint,
      tokenEndpoint: as.token_endpoint,
      deliveryModes: Array.isArray(modes) ? modes.filter((m): m is string => typeof m === 'string') : [],
      userCodeSupported: as['backchannel_user_code_parameter_supported'] === true,
    },
  };
}

function clientAuthentication(credentials: ClientCredentials): { auth: oidc.ClientAuth; metadata: Partial<oidc.ClientMetadata> } {
  switch (credentials.method) {
    case 'client_secret_basic':
      return { auth: oidc.ClientSecretBasic(credentials.clientSecret), metadata: { token_endpoint_auth_method: credentials.method } };
    case 'client_secret_post':
      return { auth: oidc.ClientSecretPost(credentials.clientSecret), metadata: { token_endpoint_auth_method: credentials.method } };
    case 'private_key_jwt': {
      const key = credentials.kid !== undefined ? { key: credentials.privateKey, kid: credentials.kid } : credentials.privateKey;
      return { auth: oidc.PrivateKeyJwt(key), metadata: { token_endpoint_auth_method: credentials.method } };
    }
  }
}

/**
 * Turns whatever openid-client (or fetch) threw into the kit's errors. An OAuth error body becomes
 * a {@link CibaProtocolError}; the rest (network, non-JSON answers, failed checks) a
 * {@link CibaProviderError} that keeps the original as its cause.
 */
export function asKitError(err: unknown, context: string): CibaClientError {
  if (err instanceof CibaClientError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    return new CibaProtocolError(err.error, err.error_description, err.status, { cause: err });
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    // A 401 for client authentication comes as a challenge (RFC 6749 §5.2): its error is the OAuth error.
    const challenge = err.cause.find((c) => typeof c.parameters.error === 'string') ?? err.cause[0];
    const error = challenge?.parameters.error ?? (err.status === 401 ? 'invalid_client' : 'invalid_request');
    return new CibaProtocolError(error, challenge?.parameters.error_description, err.status, { cause: err });
  }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'provider_error';
  const detail = err instanceof Error ? err.message : String(err);
  return new CibaProviderError(code, `${context}: ${detail}`, { cause: err });
}
