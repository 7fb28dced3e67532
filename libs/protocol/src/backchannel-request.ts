import { type AuthorizationDetail, parseAuthorizationDetails } from './authorization-details.js';
import { B64TOKEN } from './authorization-header.js';
import type { BindingMessageRule } from './binding-message.js';
import { type ClientProfile, checkProfileBindingMessage } from './client-profile.js';
import { CIBA_GRANT_TYPE } from './constants.js';
import type { TokenDeliveryMode } from './constants.js';
import { OAuthError, invalidRequest } from './errors.js';
import type { FormParams } from './form-params.js';
import { effectiveAcrValues } from './acr-values.js';
import { parseScope, splitSpaceDelimited } from './scope.js';

/** What the checks need to know about the authenticated client. */
export interface BackchannelClientView {
  readonly clientId: string;
  readonly grantTypes: readonly string[];
  readonly scope: readonly string[];
  readonly backchannelTokenDeliveryMode: TokenDeliveryMode;
  readonly backchannelUserCodeParameter: boolean;
  /** RFC 9396 §10 `authorization_details_types`: empty means the client may not send authorization_details. */
  readonly authorizationDetailsTypes: readonly string[];
  /** OpenID Connect Dynamic Client Registration 1.0 §2 `default_acr_values`: used when a request sends no acr_values. */
  readonly defaultAcrValues: readonly string[];
  /** The client profile it registered (`client_profile`); absent or null: none. */
  readonly clientProfile?: ClientProfile | null;
}

/** Operator policy for the backchannel authentication endpoint. Times in seconds. */
export interface BackchannelPolicy {
  readonly defaultExpiresIn: number;
  readonly minExpiresIn: number;
  readonly maxExpiresIn: number;
  readonly bindingMessage: BindingMessageRule;
  /** Published as backchannel_user_code_parameter_supported. */
  readonly userCodeSupported: boolean;
}

/** CIBA §7.1: the three ways a client may identify the end-user. */
export const HINT_PARAMETERS = ['login_hint_token', 'id_token_hint', 'login_hint'] as const;
export type HintParameter = (typeof HINT_PARAMETERS)[number];

export interface ValidatedBackchannelRequest {
  scope: string[];
  /** RFC 9396 authorization details, checked against the client's registered types; null when none were sent. */
  authorizationDetails: AuthorizationDetail[] | null;
  /** Not yet resolved to a user: the caller does that, and decides whether login_hint_token is supported. */
  hint: { type: HintParameter; value: string };
  acrValues: string[];
  bindingMessage: string | null;
  expiresIn: number;
  /** Null for poll clients, which have no notification endpoint. */
  clientNotificationToken: string | null;
  /** Not yet verified: the caller checks it against the user. */
  userCode: string | null;
}

export interface BackchannelRequestContext {
  readonly params: FormParams;
  readonly client: BackchannelClientView;
  readonly policy: BackchannelPolicy;
}

/** One rule of CIBA §7.1. Pure: reads the context, throws an OAuthError or returns its part of the result. */
export type BackchannelCheck = (ctx: BackchannelRequestContext) => Partial<ValidatedBackchannelRequest>;

/** CIBA §7.1: the OP must reject a client that is not registered for the CIBA grant. */
export function checkClientMayUseCiba({ client }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  if (!client.grantTypes.includes(CIBA_GRANT_TYPE)) {
    throw new OAuthError('unauthorized_client', 'client is not registered for the CIBA grant type');
  }
  return {};
}

/**
 * CIBA §7.1.1: a signed request's parameters come from its request object, verified and unpacked
 * before these checks (`requestObjectParams`), so a `request` seen here was nested inside one.
 * CIBA defines no request_uri; refusing both beats silently ignoring what the client meant us to honour.
 */
export function rejectRequestObject({ params }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  if (params.has('request')) throw invalidRequest('a request object cannot contain another request object');
  if (params.has('request_uri')) throw invalidRequest('request_uri is not supported');
  return {};
}

/** CIBA §7.1: scope is REQUIRED and must contain openid; RFC 6749 §3.3 lets the OP refuse unregistered values. */
export function checkScope({ params, client }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const raw = params.get('scope');
  if (raw === undefined) throw invalidRequest('scope is required');
  const scope = parseScope(raw);
  if (!scope.includes('openid')) throw invalidRequest('scope must include openid');
  if (client.scope.length > 0) {
    const unregistered = scope.filter((value) => !client.scope.includes(value));
    if (unregistered.length > 0) {
      throw new OAuthError('invalid_scope', `scope not registered for this client: ${unregistered.join(' ')}`);
    }
  }
  return { scope };
}

/**
 * RFC 9396 §2, §5: authorization_details, a JSON array of typed objects, each of a type the client
 * registered (§10); anything else is invalid_authorization_details. Checked right after scope, the
 * other half of what the client asks the user to authorize.
 */
export function checkAuthorizationDetails({ params, client }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const raw = params.get('authorization_details');
  if (raw === undefined) return { authorizationDetails: null };
  return { authorizationDetails: parseAuthorizationDetails(raw, client.authorizationDetailsTypes) };
}

/** CIBA §7.1: exactly one of login_hint_token, id_token_hint or login_hint. */
export function checkHint({ params }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const given = HINT_PARAMETERS.flatMap((type) => {
    const value = params.get(type);
    return value === undefined ? [] : [{ type, value }];
  });
  if (given.length === 0) throw invalidRequest('one of login_hint, login_hint_token or id_token_hint is required');
  if (given.length > 1) throw invalidRequest('only one of login_hint, login_hint_token or id_token_hint may be used');
  return { hint: given[0] };
}

/** CIBA §7.1: requested_expiry is a positive integer number of seconds; absent means the OP's default. */
export function checkRequestedExpiry({ params, policy }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const raw = params.get('requested_expiry');
  if (raw === undefined) return { expiresIn: policy.defaultExpiresIn };
  const expiresIn = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    throw invalidRequest('requested_expiry must be a positive integer number of seconds');
  }
  if (expiresIn > policy.maxExpiresIn) throw invalidRequest(`requested_expiry must be at most ${policy.maxExpiresIn} seconds`);
  if (expiresIn < policy.minExpiresIn) throw invalidRequest(`requested_expiry must be at least ${policy.minExpiresIn} seconds`);
  return { expiresIn };
}

/**
 * CIBA §7.1: acr_values are passed through, in order of preference; a request without any (absent
 * or empty) inherits the client's registered default_acr_values.
 */
export function checkAcrValues({ params, client }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const raw = params.get('acr_values');
  return { acrValues: effectiveAcrValues(raw === undefined ? [] : splitSpaceDelimited(raw), client.defaultAcrValues) };
}

/** CIBA §7.1 / §13: a binding_message the OP will not display is invalid_binding_message. */
export function checkBindingMessage({ params, client, policy }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const bindingMessage = params.get('binding_message');
  checkProfileBindingMessage(client.clientProfile, bindingMessage ?? null);
  if (bindingMessage === undefined) return { bindingMessage: null };
  policy.bindingMessage.check(bindingMessage);
  return { bindingMessage };
}

/**
 * CIBA §7.1 / §13: user_code is only accepted when the OP supports it, and is required from a
 * client registered with backchannel_user_code_parameter.
 */
export function checkUserCode({ params, client, policy }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  const userCode = params.get('user_code');
  if (!policy.userCodeSupported) {
    if (userCode !== undefined) throw invalidRequest('user_code is not supported');
    return { userCode: null };
  }
  if (userCode === undefined && client.backchannelUserCodeParameter) {
    throw new OAuthError('missing_user_code', 'user_code is required for this client');
  }
  return { userCode: userCode ?? null };
}

export const CLIENT_NOTIFICATION_TOKEN_MAX_LENGTH = 1024;

/** CIBA §7.1: REQUIRED for ping and push clients, a bearer token of at most 1024 characters. */
export function checkClientNotificationToken({ params, client }: BackchannelRequestContext): Partial<ValidatedBackchannelRequest> {
  if (client.backchannelTokenDeliveryMode === 'poll') return { clientNotificationToken: null };
  const token = params.get('client_notification_token');
  if (token === undefined) throw invalidRequest('client_notification_token is required for ping and push clients');
  if (token.length > CLIENT_NOTIFICATION_TOKEN_MAX_LENGTH) {
    throw invalidRequest(`client_notification_token must be at most ${CLIENT_NOTIFICATION_TOKEN_MAX_LENGTH} characters`);
  }
  if (!B64TOKEN.test(token)) throw invalidRequest('client_notification_token must use bearer token (b64token) syntax');
  return { clientNotificationToken: token };
}

/** The CIBA §7.1 checks, in the order they run: the first failure is the answer. */
export const BACKCHANNEL_REQUEST_CHECKS: readonly BackchannelCheck[] = [
  checkClientMayUseCiba,
  rejectRequestObject,
  checkScope,
  checkAuthorizationDetails,
  checkHint,
  checkRequestedExpiry,
  checkAcrValues,
  checkBindingMessage,
  checkUserCode,
  checkClientNotificationToken,
];

/**
 * Validates a backchannel authentication request from an already authenticated client. Hint
 * resolution and user_code verification are left to the caller.
 */
export function validateBackchannelRequest(
  params: FormParams,
  client: BackchannelClientView,
  policy: BackchannelPolicy,
): ValidatedBackchannelRequest {
  const ctx: BackchannelRequestContext = { params, client, policy };
  const draft: Partial<ValidatedBackchannelRequest> = {};
  for (const check of BACKCHANNEL_REQUEST_CHECKS) Object.assign(draft, check(ctx));
  return complete(draft);
}

function complete(draft: Partial<ValidatedBackchannelRequest>): ValidatedBackchannelRequest {
  const { scope, authorizationDetails, hint, acrValues, bindingMessage, expiresIn, clientNotificationToken, userCode } = draft;
  if (
    scope === undefined ||
    authorizationDetails === undefined ||
    hint === undefined ||
    acrValues === undefined ||
    bindingMessage === undefined ||
    expiresIn === undefined ||
    clientNotificationToken === undefined ||
    userCode === undefined
  ) {
    // A programming error (a check dropped from the list), not a client error: surfaces as server_error.
    throw new Error('backchannel request checks left the result incomplete');
  }
  return { scope, authorizationDetails, hint, acrValues, bindingMessage, expiresIn, clientNotificationToken, userCode };
}
