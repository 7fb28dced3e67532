import { authorizationDetailsTypes } from '@ciba/protocol';
import type { AuthRequest } from '../auth-request/auth-request.js';
import type { CallbackDelivery, CallbackTrigger } from '../callback/callback-delivery.js';
import {
  type AuthRequestApproved,
  type AuthRequestClientNotificationAttempted,
  type AuthRequestClientNotificationFailed,
  type AuthRequestClientNotified,
  type AuthRequestCreated,
  type AuthRequestDenied,
  type AuthRequestDeviceNotified,
  type AuthRequestDeviceNotificationFailed,
  type AuthRequestExpired,
  type AuthRequestRedeemed,
  type AuthRequestDownstreamReported,
  type AuthRequestEventType,
  type AuthRequestTokensRefreshed,
  lifecycleEventId,
} from './lifecycle-event.js';

/** The one place lifecycle events are built from a request, so every producer emits the same shape. */
function base<T extends AuthRequestEventType>(request: AuthRequest, type: T, occurredAt: Date) {
  return {
    type,
    version: 1 as const,
    eventId: lifecycleEventId(request.id, type),
    requestId: request.id,
    clientId: request.clientId,
    subject: request.subject,
    occurredAt: occurredAt.toISOString(),
    correlationId: request.correlationId,
  };
}

/** What the authorize service adds to `auth_request.created` for the evidence record (see `AuthRequestCreated`). */
export interface CreatedProvenance {
  readonly issuer?: string;
  readonly backchannelEndpoint?: string;
  readonly userHintHash?: string;
}

/**
 * `interval` is what the client was told (§7.3): none for push mode. Of the RFC 9396 authorization
 * details only the types travel: their other fields may hold personal data (amounts, account
 * numbers, payees) that the audit trail must not keep.
 */
export function requestCreated(request: AuthRequest, interval: number | null, provenance: CreatedProvenance = {}): AuthRequestCreated {
  return {
    ...provenance,
    acrValues: request.acrValues,
    bindingMessage: request.bindingMessage,
    ...base(request, 'auth_request.created', request.createdAt),
    deliveryMode: request.deliveryMode,
    scope: request.scope,
    hintType: request.hintType,
    expiresAt: request.expiresAt.toISOString(),
    interval: request.deliveryMode === 'push' ? null : interval,
    hasBindingMessage: request.bindingMessage !== null,
    authorizationDetailsTypes: authorizationDetailsTypes(request.authorizationDetails),
  };
}

export function deviceNotified(
  request: AuthRequest,
  channel: string,
  at: Date,
  tried: readonly { readonly channel: string; readonly outcome: string }[] = [],
): AuthRequestDeviceNotified {
  return { ...base(request, 'auth_request.device_notified', at), channel, tried };
}

/** One notifier attempt that delivered on no channel (see `AuthRequestDeviceNotificationFailed`); one event per attempt. */
export function deviceNotificationFailed(
  request: AuthRequest,
  attempt: number,
  tried: readonly { readonly channel: string; readonly outcome: string }[],
  final: boolean,
  at: Date,
): AuthRequestDeviceNotificationFailed {
  const event = base(request, 'auth_request.device_notification_failed', at);
  return { ...event, eventId: `${event.eventId}:${attempt}`, attempt, tried, final };
}

/**
 * The event for a request decided (approved or denied); a request the provider refused for a prompt
 * limit (`RATE_LIMITED`) says which limit. Built from the stored request alone, so a republished
 * event is the same as the first.
 */
export function requestDecided(request: AuthRequest): AuthRequestApproved | AuthRequestDenied {
  const at = request.decidedAt ?? request.createdAt;
  if (request.status === 'approved') {
    const approved = base(request, 'auth_request.approved', at);
    return request.acr === null ? approved : { ...approved, acr: request.acr, amr: [...request.amr] };
  }
  if (request.status === 'denied') {
    const denied = { ...base(request, 'auth_request.denied', at), reason: request.denialReason ?? 'UNAUTHORIZED' };
    return request.denialLimit === null ? denied : { ...denied, limit: request.denialLimit };
  }
  throw new Error(`request ${request.id} is ${request.status}, not decided`);
}

export function requestExpired(request: AuthRequest, at: Date): AuthRequestExpired {
  return base(request, 'auth_request.expired', at);
}

/**
 * The outcome event of a settled request (approved, denied or expired), rebuilt from the request to
 * republish one whose publication was never confirmed. A redeemed request was approved; the same
 * event id makes a repeat harmless. Null while the request is pending.
 */
export function settledEvent(request: AuthRequest): AuthRequestApproved | AuthRequestDenied | AuthRequestExpired | null {
  switch (request.status) {
    case 'pending':
      return null;
    case 'approved':
    case 'denied':
      return requestDecided(request);
    case 'redeemed':
      return requestDecided({ ...request, status: 'approved' });
    case 'expired':
      return requestExpired(request, request.expiresAt);
  }
}

/** `accessTokenJti`: the issued access token's `jti` (see `AuthRequestRedeemed`); null leaves it out. */
export function requestRedeemed(request: AuthRequest, tokens: readonly string[], at: Date, accessTokenJti: string | null = null): AuthRequestRedeemed {
  const event = { ...base(request, 'auth_request.redeemed', at), tokens };
  return accessTokenJti === null ? event : { ...event, accessTokenJti };
}

/** What a refresh knows of the request its grant came from: the refresh token's record. */
export interface RefreshedGrant {
  readonly requestId: string;
  readonly clientId: string;
  readonly subject: string;
}

/** A refresh issued the access token `accessTokenJti` with `scope`; the grant's correlation id is not kept with its refresh tokens. */
export function tokensRefreshed(grant: RefreshedGrant, accessTokenJti: string, scope: readonly string[], at: Date): AuthRequestTokensRefreshed {
  const type = 'auth_request.tokens_refreshed' as const;
  return {
    type,
    version: 1,
    eventId: `${lifecycleEventId(grant.requestId, type)}:${accessTokenJti}`,
    requestId: grant.requestId,
    clientId: grant.clientId,
    subject: grant.subject,
    occurredAt: at.toISOString(),
    correlationId: null,
    accessTokenJti,
    scope: [...scope],
  };
}

/** A downstream report as the reporter sent it (validated), and who sent it. */
export interface DownstreamReport {
  readonly jti: string;
  readonly outcome: 'allowed' | 'blocked';
  readonly action: string;
  readonly resource: string | null;
  readonly reason: string | null;
  readonly reporterClientId: string;
  /** When the action was allowed or blocked (the report's own time, or when it was received). */
  readonly occurredAt: Date;
}

/**
 * The event of a downstream report about an access token of `request`. `digest` identifies the
 * report (the same report gives the same one), so a report sent twice is one event.
 */
export function downstreamReported(request: AuthRequest, report: DownstreamReport, digest: string, reportedAt: Date): AuthRequestDownstreamReported {
  const event = base(request, 'auth_request.downstream_reported', report.occurredAt);
  return {
    ...event,
    eventId: `${event.eventId}:${digest}`,
    jti: report.jti,
    outcome: report.outcome,
    action: report.action,
    resource: report.resource,
    reason: report.reason,
    reporterClientId: report.reporterClientId,
    reportedAt: reportedAt.toISOString(),
  };
}

/** A ping or push callback reached the client. */
export function clientNotified(request: AuthRequest, delivery: CallbackDelivery, attempts: number, at: Date, status: number | null = null): AuthRequestClientNotified {
  return { ...base(request, 'auth_request.client_notified', at), mode: modeOf(delivery), trigger: delivery.trigger, attempts, status };
}

/** A ping or push callback was given up (then it also sits in the dead-letter stream). */
export function clientNotificationFailed(
  request: AuthRequest,
  delivery: CallbackDelivery,
  attempts: number,
  reason: string,
  at: Date,
  status: number | null = null,
): AuthRequestClientNotificationFailed {
  return { ...base(request, 'auth_request.client_notification_failed', at), mode: modeOf(delivery), trigger: delivery.trigger, attempts, reason, status };
}

/** One attempt of a ping or push callback, for the audit evidence record; one event per attempt. */
export function clientNotificationAttempted(
  request: AuthRequest,
  delivery: CallbackDelivery,
  attempt: number,
  outcome: AuthRequestClientNotificationAttempted['outcome'],
  status: number | null,
  reason: string | null,
  at: Date,
): AuthRequestClientNotificationAttempted {
  const event = base(request, 'auth_request.client_notification_attempted', at);
  return { ...event, eventId: `${event.eventId}:${delivery.trigger}:${attempt}`, mode: modeOf(delivery), trigger: delivery.trigger, attempt, outcome, status, reason };
}

function modeOf(delivery: CallbackDelivery): 'ping' | 'push' {
  return delivery.kind === 'ping' ? 'ping' : 'push';
}

/**
 * The outcome event a callback answers (approved, denied or expired), rebuilt from the request for
 * an operator's redelivery; a push request is `redeemed` by then, so its status is not consulted.
 */
export function outcomeEvent(request: AuthRequest, trigger: CallbackTrigger): AuthRequestApproved | AuthRequestDenied | AuthRequestExpired {
  const at = request.decidedAt ?? request.expiresAt;
  switch (trigger) {
    case 'approved':
      return base(request, 'auth_request.approved', at);
    case 'denied':
      return { ...base(request, 'auth_request.denied', at), reason: request.denialReason ?? 'UNAUTHORIZED' };
    case 'expired':
      return base(request, 'auth_request.expired', request.expiresAt);
  }
}
