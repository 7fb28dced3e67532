/** Names fixed by the specifications. Spec vocabulary only. */
export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';
export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';
/** CIBA §10.3.1: the ID token claim that binds it to the authentication request. */
export const AUTH_REQ_ID_CLAIM = 'urn:openid:params:jwt:claim:auth_req_id';
export const RT_HASH_CLAIM = 'urn:openid:params:jwt:claim:rt_hash';

export const TOKEN_DELIVERY_MODES = ['poll', 'ping', 'push'] as const;
export type TokenDeliveryMode = (typeof TOKEN_DELIVERY_MODES)[number];

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
/** RFC 8705 §2: the methods that authenticate with the client's mutual-TLS certificate (offered only when a certificate header is configured). */
export const TLS_CLIENT_AUTH_METHODS = ['tls_client_auth', 'self_signed_tls_client_auth'] as const satisfies readonly ClientAuthMethod[];
export type TlsClientAuthMethod = (typeof TLS_CLIENT_AUTH_METHODS)[number];
/** The methods that authenticate with a signed JWT (RFC 7523 §2.2, OpenID Connect Core 1.0 §9). */
export type ClientAssertionMethod = Extract<ClientAuthMethod, 'client_secret_jwt' | 'private_key_jwt'>;

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** OpenID Connect Core 1.0 §9 client_secret_jwt: an HMAC SHA algorithm keyed with the client secret. */
export const CLIENT_SECRET_JWT_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type ClientSecretJwtAlg = (typeof CLIENT_SECRET_JWT_ALGS)[number];

export const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** Minimum slow_down increment, CIBA §11 / RFC 8628 §3.5. */
export const SLOW_DOWN_INCREMENT_SECONDS = 5;
