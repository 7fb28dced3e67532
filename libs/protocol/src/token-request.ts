import { CIBA_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE } from './constants.js';
import { OAuthError, tokenEndpointError } from './errors.js';
import type { FormParams } from './form-params.js';
import { parseScope } from './scope.js';

export type TokenRequest =
  | { readonly grantType: typeof CIBA_GRANT_TYPE; readonly authReqId: string }
  | { readonly grantType: typeof REFRESH_TOKEN_GRANT_TYPE; readonly refreshToken: string; readonly scope: string[] | null };

/** RFC 6749 §3.2 / CIBA §10.1: the grant-specific parameters of a token request. */
export function validateTokenRequest(params: FormParams): TokenRequest {
  const grantType = params.get('grant_type');
  // RFC 9396 §6 lets a token request narrow the authorization details; this provider does not, and
  // says so rather than issue tokens for more than the client asked for.
  if (params.has('authorization_details') && (grantType === CIBA_GRANT_TYPE || grantType === REFRESH_TOKEN_GRANT_TYPE)) {
    throw tokenEndpointError(
      'invalid_authorization_details',
      'authorization_details is not supported in token requests; the tokens carry the details granted with the authentication request',
    );
  }
  switch (grantType) {
    case undefined:
      throw tokenEndpointError('invalid_request', 'grant_type is required');
    case CIBA_GRANT_TYPE: {
      const authReqId = params.get('auth_req_id');
      if (authReqId === undefined) throw tokenEndpointError('invalid_request', 'auth_req_id is required');
      return { grantType, authReqId };
    }
    case REFRESH_TOKEN_GRANT_TYPE: {
      // RFC 6749 §6
      const refreshToken = params.get('refresh_token');
      if (refreshToken === undefined) throw tokenEndpointError('invalid_request', 'refresh_token is required');
      const scope = params.get('scope');
      return { grantType, refreshToken, scope: scope === undefined ? null : withTokenStatus(() => parseScope(scope)) };
    }
    default:
      throw tokenEndpointError('unsupported_grant_type', 'grant_type is not supported by this provider');
  }
}

/** RFC 6749 §5.2: a client may only use the grant types it registered. */
export function assertClientMayUseGrant(grantTypes: readonly string[], grantType: string): void {
  if (!grantTypes.includes(grantType)) {
    throw tokenEndpointError('unauthorized_client', 'client is not registered for this grant type');
  }
}

/** Re-issues a shared helper's OAuthError with the token endpoint's status rules. */
function withTokenStatus<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof OAuthError) throw tokenEndpointError(err.error, err.description);
    throw err;
  }
}
