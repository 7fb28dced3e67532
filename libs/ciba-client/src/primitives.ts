import * as oidc from 'openid-client';
import { type CibaClient, asKitError } from './client.js';
import { CibaClientError, CibaProtocolError } from './errors.js';
import { type PendingOutcome, classifyTokenError, sanitizeInterval } from './outcome.js';

export const CIBA_GRANT_TYPE = 'urn:openid:params:grant-type:ciba';

/** One RFC 9396 authorization details object: `type` plus whatever members that type defines. */
export interface AuthorizationDetail {
  readonly type: string;
  readonly [member: string]: unknown;
}

/** Exactly one of the three CIBA §7.1 hints naming the user. */
export type UserHint =
  | { readonly loginHint: string; readonly idTokenHint?: never; readonly loginHintToken?: never }
  | { readonly idTokenHint: string; readonly loginHint?: never; readonly loginHintToken?: never }
  | { readonly loginHintToken: string; readonly loginHint?: never; readonly idTokenHint?: never };

/** The backchannel authentication request, CIBA §7.1 (plus RFC 9396 authorization_details). */
export type StartApprovalParams = UserHint & {
  /** Space-separated string or list; `openid` is added when missing (§7.1 requires it). Default `openid`. */
  readonly scope?: string | readonly string[];
  /** Shown on the user's device and on the agent's side, so the user can tell the two belong together. */
  readonly bindingMessage?: string;
  readonly acrValues?: string | readonly string[];
  /** RFC 9396: the exact action to approve. */
  readonly authorizationDetails?: readonly AuthorizationDetail[];
  /** Seconds; the provider may shorten or refuse it. */
  readonly requestedExpiry?: number;
  /** Required by ping and push clients (§7.1); the provider sends it back as the ping's bearer token. */
  readonly clientNotificationToken?: string;
  /** §7.1 user_code, when the provider supports it. */
  readonly userCode?: string;
  /** Further request parameters for provider extensions (never used for the ones above). */
  readonly extraParameters?: Readonly<Record<string, string>>;
};

/** A started request: its `auth_req_id`, lifetime (seconds) and the minimum polling interval (seconds). */
export interface StartedApproval {
  readonly authReqId: string;
  readonly expiresIn: number;
  /** The provider's `interval`, or 5 when it sent none (§7.3). */
  readonly interval: number;
}

/** The token response of an approved request (access_token, id_token, maybe refresh_token …). */
export type ApprovalTokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

/** One poll's answer, CIBA §11; any other error is thrown (see {@link pollOnce}). */
export type PollResult = { readonly status: 'approved'; readonly tokens: ApprovalTokens } | PendingOutcome;

export interface PollOnceOptions {
  /** The interval (seconds) the caller has been waiting, so slow_down can say the next one. Default 5. */
  readonly interval?: number;
}

/**
 * Sends the backchannel authentication request (CIBA §7) and returns the provider's answer.
 * Throws {@link CibaProtocolError} for an OAuth error from the provider (unknown_user_id,
 * invalid_binding_message, …) and {@link CibaProviderError} when the provider cannot be used.
 */
export async function startApproval(client: CibaClient, params: StartApprovalParams): Promise<StartedApproval> {
  const body = backchannelParameters(params);
  let response: oidc.BackchannelAuthenticationResponse;
  try {
    response = await oidc.initiateBackchannelAuthentication(client.configuration, body);
  } catch (err) {
    throw asKitError(err, 'backchannel authentication request failed');
  }
  return { authReqId: response.auth_req_id, expiresIn: response.expires_in, interval: sanitizeInterval(response.interval) };
}

/**
 * Polls the token endpoint once for `authReqId` (CIBA §10.1, or after a §10.2 ping) and classifies
 * the answer: approved (with the tokens), pending, slow_down (with the interval to use from now
 * on), denied or expired. Any other OAuth error (invalid_grant, invalid_client, …) is thrown as a
 * {@link CibaProtocolError}; a provider that cannot be reached or answers nonsense, as a
 * {@link CibaProviderError}. Never waits: spacing the polls is the caller's job.
 */
export async function pollOnce(client: CibaClient, authReqId: string, options: PollOnceOptions = {}): Promise<PollResult> {
  if (typeof authReqId !== 'string' || authReqId.length === 0) throw new CibaClientError('invalid_argument', 'authReqId must be a non-empty string');
  try {
    const tokens = await oidc.genericGrantRequest(client.configuration, CIBA_GRANT_TYPE, { auth_req_id: authReqId });
    return { status: 'approved', tokens };
  } catch (err) {
    const kitError = asKitError(err, 'token request failed');
    if (kitError instanceof CibaProtocolError) {
      const providerInterval = err instanceof oidc.ResponseBodyError ? err.cause['interval'] : undefined;
      const outcome = classifyTokenError(kitError.error, kitError.description, sanitizeInterval(options.interval), providerInterval);
      if (outcome) return outcome;
    }
    throw kitError;
  }
}

/** The form body of a backchannel authentication request; throws on a request the provider would refuse anyway. */
export function backchannelParameters(params: StartApprovalParams): Record<string, string> {
  const hints = [params.loginHint, params.idTokenHint, params.loginHintToken].filter((h) => h !== undefined);
  if (hints.length !== 1 || typeof hints[0] !== 'string' || hints[0].length === 0) {
    throw new CibaClientError('invalid_argument', 'exactly one of loginHint, idTokenHint or loginHintToken is required (CIBA §7.1)');
  }
  const body: Record<string, string> = {};
  for (const [name, value] of Object.entries(params.extraParameters ?? {})) if (!RESERVED.has(name)) body[name] = value;
  body['scope'] = withOpenid(params.scope);
  if (params.loginHint !== undefined) body['login_hint'] = params.loginHint;
  if (params.idTokenHint !== undefined) body['id_token_hint'] = params.idTokenHint;
  if (params.loginHintToken !== undefined) body['login_hint_token'] = params.loginHintToken;
  if (params.bindingMessage !== undefined) body['binding_message'] = params.bindingMessage;
  if (params.acrValues !== undefined) body['acr_values'] = typeof params.acrValues === 'string' ? params.acrValues : params.acrValues.join(' ');
  if (params.authorizationDetails !== undefined) body['authorization_details'] = JSON.stringify(params.authorizationDetails);
  if (params.requestedExpiry !== undefined) {
    if (!Number.isInteger(params.requestedExpiry) || params.requestedExpiry < 1) {
      throw new CibaClientError('invalid_argument', 'requestedExpiry must be a positive whole number of seconds');
    }
    body['requested_expiry'] = String(params.requestedExpiry);
  }
  if (params.clientNotificationToken !== undefined) body['client_notification_token'] = params.clientNotificationToken;
  if (params.userCode !== undefined) body['user_code'] = params.userCode;
  return body;
}

/** The parameters the kit itself sets (and client authentication's), which `extraParameters` may not carry. */
const RESERVED = new Set([
  'scope',
  'login_hint',
  'id_token_hint',
  'login_hint_token',
  'binding_message',
  'acr_values',
  'authorization_details',
  'requested_expiry',
  'client_notification_token',
  'user_code',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'grant_type',
]);

function withOpenid(scope: string | readonly string[] | undefined): string {
  const scopes = (typeof scope === 'string' ? scope.split(' ') : [...(scope ?? [])]).filter((s) => s.length > 0);
  if (!scopes.includes('openid')) scopes.unshift('openid');
  return [...new Set(scopes)].join(' ');
}
