/**
 * One error model for every protocol endpoint. Each OAuth / CIBA error code is a value of
 * `OAuthErrorCode`; `OAuthError` carries the code, the HTTP status the spec assigns to it and a
 * description safe to show to the client. Serialization lives in `toErrorBody` so that every
 * response body is exactly `{ error, error_description }`.
 */
export const OAuthErrorStatus = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  // CIBA §13 (authentication error response)
  expired_login_hint_token: 400,
  unknown_user_id: 400,
  missing_user_code: 400,
  invalid_user_code: 400,
  invalid_binding_message: 400,
  // RFC 9396 §5 (rich authorization requests)
  invalid_authorization_details: 400,
  // CIBA §11 (token error response): access_denied is 400 at the token endpoint, see `tokenEndpointError`
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  transaction_failed: 400,
  invalid_token: 401,
  // RFC 6750 §3.1 (a bearer token without the scope the resource needs)
  insufficient_scope: 403,
  // RFC 7009 §2.2.1 (a token type the server does not revoke)
  unsupported_token_type: 400,
  // RFC 9449 §5 / §7.1 / §8 (DPoP): 400 at the token endpoint, 401 at a protected resource
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  // RFC 7591 §3.2.2 (dynamic client registration)
  invalid_client_metadata: 400,
  invalid_software_statement: 400,
  unapproved_software_statement: 400,
  method_not_allowed: 405,
  server_error: 500,
  temporarily_unavailable: 503,
} as const;

export type OAuthErrorCode = keyof typeof OAuthErrorStatus;

export interface OAuthErrorBody {
  error: string;
  error_description: string;
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  /** Extra response headers, e.g. `WWW-Authenticate` for invalid_client. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    error: OAuthErrorCode,
    description: string,
    options: { status?: number; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(`${error}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.description = description;
    this.status = options.status ?? OAuthErrorStatus[error];
    this.headers = options.headers ?? {};
  }

  toBody(): OAuthErrorBody {
    return { error: this.error, error_description: this.description };
  }
}

export const invalidRequest = (description: string): OAuthError => new OAuthError('invalid_request', description);

export const invalidClient = (description = 'client authentication failed', scheme?: 'Basic'): OAuthError =>
  new OAuthError('invalid_client', description, {
    headers: scheme ? { 'WWW-Authenticate': `${scheme} realm="ciba", error="invalid_client"` } : {},
  });

/** The token endpoint answers every error with 400 except invalid_client (401), RFC 6749 §5.2, CIBA §11. */
export const tokenEndpointError = (error: OAuthErrorCode, description: string): OAuthError =>
  new OAuthError(error, description, { status: error === 'invalid_client' ? 401 : error === 'server_error' ? 500 : 400 });

/**
 * Turn anything thrown into a response. Unknown errors become `500 server_error` with no detail:
 * the caller logs the original.
 */
export function toErrorResponse(err: unknown): { status: number; body: OAuthErrorBody; headers: Record<string, string>; expected: boolean } {
  if (err instanceof OAuthError) {
    return { status: err.status, body: err.toBody(), headers: { ...err.headers }, expected: true };
  }
  return {
    status: 500,
    body: { error: 'server_error', error_description: 'the server encountered an unexpected condition' },
    headers: {},
    expected: false,
  };
}
