/**
 * A notification to a ping or push client's `backchannel_client_notification_endpoint`
 * (CIBA §10.2, §10.3, §12): one per request and outcome. Its body and bearer token are stored
 * encrypted — a push body carries the tokens — and it is delivered at least once, successfully at
 * most once.
 */
export type CallbackKind = 'ping' | 'push_tokens' | 'push_error';
export type CallbackStatus = 'pending' | 'delivered' | 'failed';
/** The lifecycle outcome that caused the callback. */
export type CallbackTrigger = 'approved' | 'denied' | 'expired';

export interface CallbackDelivery {
  readonly id: string;
  readonly requestId: string;
  readonly clientId: string;
  readonly trigger: CallbackTrigger;
  readonly kind: CallbackKind;
  readonly endpoint: string;
  /**
   * Push: `{ body, bearerToken }` as JSON, encrypted with the key-encryption key; associated data:
   * `id`. Ping: the request's sealed client notification token, copied as it is (the body, the
   * auth_req_id, is derived from the request); a ping stored by an earlier version holds the JSON
   * form.
   */
  readonly encryptedMessage: string;
  readonly status: CallbackStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly deliveredAt: Date | null;
  /**
   * Until when the attempt in flight holds the delivery: no other dispatcher may send it before
   * then. Null when no attempt is in flight (or its outcome was recorded).
   */
  readonly attemptLeaseUntil: Date | null;
}

/**
 * The answer to a claim of the next attempt: `claimed` when this caller now holds the lease (and
 * alone may send), otherwise the delivery as it stands — settled, or leased by an attempt in flight.
 */
/** A first delivery of an outcome event: what `CallbackDeliveryRepository.openFirstAttempt` is given. */
export interface FirstAttempt {
  readonly requestId: string;
  /** The id of the outcome's callback (`callbackDeliveryId`). */
  readonly id: string;
  readonly trigger: CallbackTrigger;
  /** The client's notification endpoint; null when it has none (a poll client). */
  readonly endpoint: string | null;
  /** False when this outcome gets no ping (an expiry, unless pings on expiry are on). */
  readonly pingWanted: boolean;
  readonly now: Date;
  readonly leaseUntil: Date;
}

export interface AttemptClaim {
  readonly claimed: boolean;
  readonly delivery: CallbackDelivery;
}

/** What one attempt came to, recorded together with the release of its lease. */
export type AttemptResult =
  | { readonly status: 'delivered'; readonly at: Date }
  /** Still pending: the bus will try again. */
  | { readonly status: 'pending'; readonly error: string }
  | { readonly status: 'failed'; readonly error: string };

export interface CallbackMessage {
  readonly body: Readonly<Record<string, unknown>>;
  readonly bearerToken: string;
}

export function callbackDeliveryId(requestId: string, trigger: CallbackTrigger): string {
  return `${requestId}:${trigger}`;
}

export type NewCallbackDelivery = Omit<CallbackDelivery, 'status' | 'attempts' | 'lastError' | 'deliveredAt' | 'attemptLeaseUntil'>;
