/** Names fixed by the specifications. Spec vocabulary only. */
export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';
export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';
/** CIBA §10.3.1: the ID token claim that binds it to the authentication request. */
export const AUTH_REQ_ID_CLAIM = 'urn:openid:params:jwt:claim:auth_req_id';
export const RT_HASH_CLAIM = 'urn:openid:params:jwt:claim:rt_hash';

export const TOKEN_DELIVERY_MODES = ['poll', 'ping', 'push'] as const;
export type TokenDeliveryMode = (typeof TOKEN_DELIVERY_MODES)[number];

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** Minimum slow_down increment, CIBA §11 / RFC 8628 §3.5. */
export const SLOW_DOWN_INCREMENT_SECONDS = 5;
