import type { OAuthErrorCode } from './errors.js';

/** CIBA §7.3 successful authentication request acknowledgement. */
export interface BackchannelAuthenticationResponse {
  auth_req_id: string;
  expires_in: number;
  interval?: number;
}

/**
 * `interval` is null for push clients: CIBA §7.3 sends it only to clients that poll the token
 * endpoint (poll and ping).
 */
export function backchannelResponse(input: {
  authReqId: string;
  expiresIn: number;
  interval: number | null;
}): BackchannelAuthenticationResponse {
  const body: BackchannelAuthenticationResponse = { auth_req_id: input.authReqId, expires_in: input.expiresIn };
  if (input.interval !== null) body.interval = input.interval;
  return body;
}

/** CIBA §10.2 ping callback body. */
export function pingCallbackBody(authReqId: string): { auth_req_id: string } {
  return { auth_req_id: authReqId };
}

/** CIBA §12 push error payload. */
export type PushErrorCode = Extract<OAuthErrorCode, 'access_denied' | 'expired_token' | 'transaction_failed'>;

export function pushErrorBody(
  authReqId: string,
  error: PushErrorCode,
  description: string,
): { error: PushErrorCode; error_description: string; auth_req_id: string } {
  return { error, error_description: description, auth_req_id: authReqId };
}
