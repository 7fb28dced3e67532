import type { TokenDeliveryMode } from '@ciba/protocol';
import type { PromptLimitKind } from '../limits/limits.js';

/**
 * The authentication request as a state machine (CIBA §7–§11):
 *
 *   pending ──approve──▶ approved ──redeem──▶ redeemed
 *      │ ╲────deny────▶ denied
 *      ╰────expire────▶ expired
 *
 * `id` is internal (logs, events, audit). The protocol handle given to the client, the auth_req_id,
 * is not part of the request: it is a MAC'd reference to `id`, derived when needed and never stored.
 */
export type AuthRequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'redeemed';

export type HintType = 'login_hint' | 'id_token_hint' | 'login_hint_token';

/**
 * Why a request was denied: the user's answer (HTTP authentication channel vocabulary), or the
 * provider's when it would not or could not reach the user: `RATE_LIMITED` (a prompt limit of the
 * client, a defence against approval fatigue) and `UNREACHABLE` (no channel of the user's preference
 * could deliver). The client sees `access_denied` either way (CIBA §11), with a description that
 * tells a user's answer from the provider's refusal (`denialDescription`).
 */
export const DENIAL_REASONS = ['UNAUTHORIZED', 'CANCELLED', 'RATE_LIMITED', 'UNREACHABLE'] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

/**
 * The `error_description` of `access_denied` (token endpoint, push error payload): a client must be
 * able to tell that its request never reached the user (and retrying at once will not help) from a
 * user who said no.
 */
export function denialDescription(reason: DenialReason | null): string {
  switch (reason) {
    case 'RATE_LIMITED':
      return 'the request was not sent to the end-user because a prompt limit was reached (too many requests from this client, or recent denials by the user)';
    case 'UNREACHABLE':
      return 'the request could not be delivered to the end-user on any notification channel';
    case 'UNAUTHORIZED':
    case 'CANCELLED':
    case null:
      return 'the end-user denied the authorization request';
  }
}

export interface AuthRequest {
  readonly id: string;
  readonly clientId: string;
  readonly subject: string;
  readonly scope: readonly string[];
  readonly acrValues: readonly string[];
  readonly bindingMessage: string | null;
  /** RFC 9396 authorization details the client asked for; null when it sent none. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
  readonly hintType: HintType;
  readonly deliveryMode: TokenDeliveryMode;
  /**
   * CIBA §7.1 client_notification_token of a ping or push request, sealed (AES-256-GCM under the
   * key-encryption key, bound to `id`): the provider presents it as the bearer of its callbacks, so
   * it cannot be hashed; only the callback dispatcher opens it.
   */
  readonly sealedClientNotificationToken: string | null;
  readonly status: AuthRequestStatus;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** Current minimum polling interval in seconds; grows by 5 on each slow_down. */
  readonly interval: number;
  readonly lastPolledAt: Date | null;
  /** When the user decided; the ID token's `auth_time`. */
  readonly decidedAt: Date | null;
  readonly denialReason: DenialReason | null;
  /** With `RATE_LIMITED`: which prompt limit refused the request (for the audit trail); null otherwise. */
  readonly denialLimit: PromptLimitKind | null;
  readonly redeemedAt: Date | null;
  /** When the authentication device accepted the notification. */
  readonly notifiedAt: Date | null;
  readonly correlationId: string | null;
  /**
   * The W3C `traceparent` of the bc-authorize request that created it (null without tracing): the
   * later steps of its flow, which arrive on requests of their own (the device's decision, the token
   * request), continue that trace. An identifier, not a secret.
   */
  readonly traceContext: string | null;
  /**
   * The authentication context class the approval satisfied (the ID token's `acr`): set only when
   * the user confirmed with a passkey step-up; null otherwise.
   */
  readonly acr: string | null;
  /** RFC 8176 methods of that step-up (the ID token's `amr`); empty without one. */
  readonly amr: readonly string[];
}

/** How the user authenticated when approving beyond opening the link: a passkey step-up. */
export interface StepUpAuthentication {
  readonly acr: string;
  readonly amr: readonly string[];
}

export type Decision =
  | { readonly kind: 'approve'; readonly stepUp?: StepUpAuthentication }
  | { readonly kind: 'deny'; readonly reason: DenialReason; readonly limit?: PromptLimitKind };

/**
 * A decision in the terms of its outcome, as a decision token records it: a device that answered
 * UNAUTHORIZED and then CANCELLED denied both times.
 */
export type TokenDecision = 'approved' | 'denied';

export function tokenDecisionOf(decision: Decision): TokenDecision {
  return decision.kind === 'approve' ? 'approved' : 'denied';
}

export class IllegalTransition extends Error {
  constructor(
    readonly from: AuthRequestStatus,
    readonly action: string,
  ) {
    super(`cannot ${action} a request that is ${from}`);
    this.name = 'IllegalTransition';
  }
}

/**
 * The lifecycle of a request bc-authorize has just accepted: pending, and not yet polled, decided,
 * redeemed or notified. One place for it, so that a new lifecycle field starts out the same wherever
 * a request is created.
 */
export function acceptedLifecycle(): Pick<AuthRequest, 'status' | 'lastPolledAt' | 'decidedAt' | 'denialReason' | 'denialLimit' | 'redeemedAt' | 'notifiedAt' | 'acr' | 'amr'> {
  return { status: 'pending', lastPolledAt: null, decidedAt: null, denialReason: null, denialLimit: null, redeemedAt: null, notifiedAt: null, acr: null, amr: [] };
}

/** A pending request whose lifetime has passed is expired, whether or not the sweeper has run yet. */
export function effectiveStatus(req: Pick<AuthRequest, 'status' | 'expiresAt'>, now: Date): AuthRequestStatus {
  if (req.status === 'pending' && now.getTime() >= req.expiresAt.getTime()) return 'expired';
  return req.status;
}

export function decide(req: AuthRequest, decision: Decision, now: Date): AuthRequest {
  const status = effectiveStatus(req, now);
  if (status !== 'pending') throw new IllegalTransition(status, decision.kind);
  return decision.kind === 'approve'
    ? { ...req, status: 'approved', decidedAt: now, denialReason: null, acr: decision.stepUp?.acr ?? null, amr: [...(decision.stepUp?.amr ?? [])] }
    : { ...req, status: 'denied', decidedAt: now, denialReason: decision.reason };
}

export function expire(req: AuthRequest, now: Date): AuthRequest {
  if (effectiveStatus(req, now) !== 'expired' || req.status !== 'pending') throw new IllegalTransition(req.status, 'expire');
  return { ...req, status: 'expired' };
}

export function redeem(req: AuthRequest, now: Date): AuthRequest {
  if (req.status !== 'approved') throw new IllegalTransition(effectiveStatus(req, now), 'redeem');
  return { ...req, status: 'redeemed', redeemedAt: now };
}

/** What the token endpoint answers for a CIBA grant, CIBA §11. */
export type PollOutcome =
  | { readonly kind: 'pending' }
  | { readonly kind: 'slow_down'; readonly interval: number }
  | { readonly kind: 'denied' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'approved' }
  | { readonly kind: 'redeemed' };

/**
 * Classify a poll. `tooSoon` comes from the repository's atomic poll record: the poll arrived
 * before `interval` seconds had passed since the previous one.
 */
export function pollOutcome(req: AuthRequest, now: Date, tooSoon: boolean): PollOutcome {
  const status = effectiveStatus(req, now);
  switch (status) {
    case 'pending':
      return tooSoon ? { kind: 'slow_down', interval: req.interval } : { kind: 'pending' };
    case 'approved':
      return { kind: 'approved' };
    case 'denied':
      return { kind: 'denied' };
    case 'expired':
      return { kind: 'expired' };
    case 'redeemed':
      return { kind: 'redeemed' };
  }
}

export function secondsUntilExpiry(req: Pick<AuthRequest, 'expiresAt'>, now: Date): number {
  return Math.max(0, Math.ceil((req.expiresAt.getTime() - now.getTime()) / 1000));
}
