import type { DenialReason } from '../auth-request/auth-request.js';
import type { DeviceKind, DeviceRegistrar, DeviceRevocation } from '../device/device.js';
import type { PromptLimitKind } from '../limits/limits.js';

/**
 * Lifecycle events of an authentication request. The subject names and stream layout live in the
 * messaging lib's catalogue; this is the payload schema. Each carries `version` so consumers can
 * evolve, and a deterministic `eventId` (`<requestId>:<type>`) so republishing is harmless.
 * Payloads never carry auth_req_id, hints, tokens or secrets.
 */
export const LIFECYCLE_EVENT_TYPES = [
  'auth_request.created',
  'auth_request.device_notified',
  'auth_request.device_notification_failed',
  'auth_request.approved',
  'auth_request.denied',
  'auth_request.expired',
  'auth_request.redeemed',
  'auth_request.client_notified',
  'auth_request.client_notification_failed',
  'auth_request.client_notification_attempted',
  'auth_request.tokens_refreshed',
  'auth_request.downstream_reported',
  'device.registered',
  'device.revoked',
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];
/** Events about a user's device registration rather than an authentication request. */
export type DeviceEventType = Extract<LifecycleEventType, `device.${string}`>;
export type AuthRequestEventType = Exclude<LifecycleEventType, DeviceEventType>;

interface EventBase<T extends AuthRequestEventType> {
  readonly type: T;
  readonly version: 1;
  readonly eventId: string;
  readonly requestId: string;
  readonly clientId: string;
  readonly subject: string;
  readonly occurredAt: string;
  readonly correlationId: string | null;
}

export interface AuthRequestCreated extends EventBase<'auth_request.created'> {
  readonly deliveryMode: 'poll' | 'ping' | 'push';
  readonly scope: readonly string[];
  readonly hintType: string;
  readonly expiresAt: string;
  readonly interval: number | null;
  readonly hasBindingMessage: boolean;
  /**
   * The distinct RFC 9396 authorization details types of the request (empty when it had none), never
   * their values. Absent from events published before authorization_details support.
   */
  readonly authorizationDetailsTypes?: readonly string[];
  /**
   * For the evidence record (absent from events published before it): the issuer and the
   * backchannel_authentication_endpoint advertised, the acr_values and binding_message requested,
   * and the hint as a keyed hash (HMAC-SHA256 under the audit key), never the hint itself. A
   * republished event (the notifier's sweeper) may lack the issuer, endpoint and hash.
   */
  readonly issuer?: string;
  readonly backchannelEndpoint?: string;
  readonly acrValues?: readonly string[];
  readonly bindingMessage?: string | null;
  readonly userHintHash?: string;
}
/**
 * `channel` delivered the request; `tried` lists the channels that did not before it, with the kind
 * of outcome (`retryable`, `permanent`…) and no detail (absent from events published before).
 */
export type AuthRequestDeviceNotified = EventBase<'auth_request.device_notified'> & {
  readonly channel: string;
  readonly tried?: readonly { readonly channel: string; readonly outcome: string }[];
};
/**
 * One attempt of the notifier to reach the user delivered on no channel: `tried` lists each channel
 * it tried, in order, with the kind of outcome (`retryable`, `permanent`…) and no detail (empty when
 * no enabled channel reaches the user). `attempt` is the notifier's attempt (the bus delivery), and
 * `final` says it gave up (the request is then denied `UNREACHABLE`) rather than will try again.
 * Its id is `<requestId>:auth_request.device_notification_failed:<attempt>`, one per attempt.
 */
export type AuthRequestDeviceNotificationFailed = EventBase<'auth_request.device_notification_failed'> & {
  readonly attempt: number;
  readonly tried: readonly { readonly channel: string; readonly outcome: string }[];
  readonly final: boolean;
};
/**
 * `acr` and `amr` say how the user proved it was them when the approval needed more than a tap on the
 * link (passkey step-up): the audit trail then shows which authentication the approval rests on.
 * Absent otherwise, and from events published before step-up support.
 */
export type AuthRequestApproved = EventBase<'auth_request.approved'> & { readonly acr?: string; readonly amr?: readonly string[] };
/**
 * `limit` says which prompt limit refused a `RATE_LIMITED` request (`client_user`, `client`,
 * `denial_backoff`), so the audit trail shows it. Absent otherwise, and from events published before.
 */
export type AuthRequestDenied = EventBase<'auth_request.denied'> & { readonly reason: DenialReason; readonly limit?: PromptLimitKind };
export type AuthRequestExpired = EventBase<'auth_request.expired'>;
/**
 * `accessTokenJti` is the `jti` of the access token issued (an identifier, not a credential: it
 * cannot be used as the token), so that the evidence record lists it and a resource server's report
 * about the token joins the request. Absent from events published before it, and from push mode.
 */
export type AuthRequestRedeemed = EventBase<'auth_request.redeemed'> & { readonly tokens: readonly string[]; readonly accessTokenJti?: string };

/**
 * A refresh (RFC 6749 §6) issued a new access token for the request's grant: its `jti` and the scope
 * it carries. Its id is `<requestId>:auth_request.tokens_refreshed:<jti>`, one per access token.
 */
export type AuthRequestTokensRefreshed = EventBase<'auth_request.tokens_refreshed'> & { readonly accessTokenJti: string; readonly scope: readonly string[] };

/**
 * A resource server (or gateway), authenticated as the client `reporterClientId`, reported what it
 * did with the access token `jti` of the request: `allowed` or `blocked` the `action` (e.g.
 * `POST /payments`) on `resource`, with its `reason`. `occurredAt` is when it says it happened;
 * `reportedAt` when the provider received the report. Its id is
 * `<requestId>:auth_request.downstream_reported:<digest of the report>`, so a report sent again
 * (with its `occurred_at`) is the same event.
 */
export type AuthRequestDownstreamReported = EventBase<'auth_request.downstream_reported'> & {
  readonly jti: string;
  readonly outcome: 'allowed' | 'blocked';
  readonly action: string;
  readonly resource: string | null;
  readonly reason: string | null;
  readonly reporterClientId: string;
  readonly reportedAt: string;
};

/** A ping or push callback reached the client (CIBA §10.2, §10.3). */
export type AuthRequestClientNotified = EventBase<'auth_request.client_notified'> & {
  readonly mode: 'ping' | 'push';
  readonly trigger: 'approved' | 'denied' | 'expired';
  readonly attempts: number;
  /** HTTP status of the last attempt (absent from events published before). */
  readonly status?: number | null;
};
/** A ping or push callback was given up; `reason` is a short code such as `http_401` or `attempts_exhausted`. */
export type AuthRequestClientNotificationFailed = EventBase<'auth_request.client_notification_failed'> & {
  readonly mode: 'ping' | 'push';
  readonly trigger: 'approved' | 'denied' | 'expired';
  readonly attempts: number;
  readonly reason: string;
  /** HTTP status of the last attempt, null when none came back (absent from events published before). */
  readonly status?: number | null;
};

/**
 * One attempt of a ping or push callback (the audit evidence record lists them all): `attempt` is its
 * number (1 first), `outcome` what the dispatcher made of it — `delivered`, `retry` (another attempt
 * follows) or `failed` (given up) — with the HTTP status when one came back and the reason code
 * otherwise. Its id is `<requestId>:auth_request.client_notification_attempted:<trigger>:<attempt>`.
 */
export type AuthRequestClientNotificationAttempted = EventBase<'auth_request.client_notification_attempted'> & {
  readonly mode: 'ping' | 'push';
  readonly trigger: 'approved' | 'denied' | 'expired';
  readonly attempt: number;
  readonly outcome: 'delivered' | 'retry' | 'failed';
  readonly status: number | null;
  readonly reason: string | null;
};

/**
 * Device events share the stream (and the audit trail) with request events, but name a device
 * instead of a request: `eventId` is `<deviceId>:<type>`. `clientId` is the client that registered
 * or revoked the device, null when the user's enrolment or removal link (or an operator, or the
 * provider) did. `via` says who vouched for the change. They never carry the device's target.
 */
interface DeviceEventBase<T extends DeviceEventType> {
  readonly type: T;
  readonly version: 1;
  readonly eventId: string;
  readonly deviceId: string;
  readonly subject: string;
  readonly clientId: string | null;
  readonly occurredAt: string;
  readonly correlationId: string | null;
  readonly kind: DeviceKind;
  readonly label: string | null;
}

/** A device was registered for device push; `expiresAt` is the end of its registration. */
export type DeviceRegistered = DeviceEventBase<'device.registered'> & { readonly via: DeviceRegistrar['via']; readonly expiresAt: string };
/** A registration ended; `via` is `provider` when the push service said it is gone or the same target was registered again. */
export type DeviceRevoked = DeviceEventBase<'device.revoked'> & {
  readonly via: NonNullable<DeviceRevocation['by']>['via'] | 'provider';
  readonly reason: DeviceRevocation['reason'];
};

export type DeviceEvent = DeviceRegistered | DeviceRevoked;
export type AuthRequestEvent = Exclude<LifecycleEvent, DeviceEvent>;

export type LifecycleEvent =
  | DeviceRegistered
  | DeviceRevoked
  | AuthRequestClientNotified
  | AuthRequestClientNotificationFailed
  | AuthRequestClientNotificationAttempted
  | AuthRequestCreated
  | AuthRequestDeviceNotified
  | AuthRequestDeviceNotificationFailed
  | AuthRequestApproved
  | AuthRequestDenied
  | AuthRequestExpired
  | AuthRequestRedeemed
  | AuthRequestTokensRefreshed
  | AuthRequestDownstreamReported;

export function lifecycleEventId(requestId: string, type: AuthRequestEventType): string {
  return `${requestId}:${type}`;
}

export function deviceEventId(deviceId: string, type: DeviceEventType): string {
  return `${deviceId}:${type}`;
}

export function isDeviceEvent(event: LifecycleEvent): event is DeviceEvent {
  return event.type === 'device.registered' || event.type === 'device.revoked';
}
