import type { AuthRequest, DenialReason } from '../auth-request/auth-request.js';
import type { User } from '../user/user.js';

/**
 * Limits on prompting a user, all scoped to the asking client so that one client can never use up
 * another's budget for the same user:
 * - `client_user`: requests one client may take to one user per window (sliding);
 * - `client`: requests one client may take to all its users per window (fixed windows);
 * - `denial_backoff`: after the user denied `threshold` of that client's requests within the window,
 *   that client's further requests for them are refused for a back-off that doubles with each further
 *   denial, up to `maxMs`.
 * A limit of 0 (a threshold of 0) turns that limit off.
 */
export const PROMPT_LIMIT_KINDS = ['client_user', 'client', 'denial_backoff'] as const;
export type PromptLimitKind = (typeof PROMPT_LIMIT_KINDS)[number];

export interface PromptLimits {
  readonly clientUser: { readonly limit: number; readonly windowMs: number };
  readonly client: { readonly limit: number; readonly windowMs: number };
  readonly denialBackoff: { readonly threshold: number; readonly windowMs: number; readonly baseMs: number; readonly maxMs: number };
}

/**
 * The user's own answers. The provider's refusals (`RATE_LIMITED`, `UNREACHABLE`) never count: a
 * back-off that fed on its own refusals would never end.
 */
export const USER_DENIAL_REASONS = ['UNAUTHORIZED', 'CANCELLED'] as const satisfies readonly DenialReason[];

/**
 * When the back-off after the user's recent denials of this client ends: null when fewer than
 * `threshold` denials fall in the window. The first back-off is `baseMs` after the last denial; each
 * further denial doubles it, up to `maxMs`.
 */
export function denialBackoffUntil(recentDenials: number, lastDeniedAt: Date | null, policy: PromptLimits['denialBackoff']): Date | null {
  if (policy.threshold === 0 || lastDeniedAt === null || recentDenials < policy.threshold) return null;
  const backoffMs = Math.min(policy.baseMs * 2 ** (recentDenials - policy.threshold), policy.maxMs);
  return new Date(lastDeniedAt.getTime() + backoffMs);
}

/** The start of the fixed window of `windowMs` that holds `now` (windows aligned on the epoch). */
export function fixedWindowStart(now: Date, windowMs: number): Date {
  return new Date(Math.floor(now.getTime() / windowMs) * windowMs);
}

export type PromptVerdict = { readonly allowed: true } | { readonly allowed: false; readonly limit: PromptLimitKind };

/** Decides, across every notifier replica, whether a request may be taken to its user. */
export interface NotificationLimiter {
  /**
   * Checks the denial back-off, then counts the request against its client and user, and against
   * its client, when both are within their limits. Idempotent per request: a retry of a request
   * already counted is allowed without counting again.
   */
  acquire(request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, now: Date, limits: PromptLimits): Promise<PromptVerdict>;
}

/** A decision token to store with a claim: the hash of the token and the channel it answers on. */
export interface ClaimToken {
  readonly tokenHash: string;
  readonly channel: string;
}

/**
 * What claiming a request for a prompt found: `unclaimable` when it is unknown, no longer pending,
 * past its lifetime or already notified (nothing to do); else the request with its user (null when
 * the user is gone) and the prompt limits' verdict. `countedNow`: this claim counted the prompt (a
 * retry of a request counted before is allowed without counting it again).
 */
export type PromptClaim =
  | { readonly kind: 'unclaimable' }
  | { readonly kind: 'claimed'; readonly request: AuthRequest; readonly user: User | null; readonly verdict: PromptVerdict; readonly countedNow: boolean };

/** The start of a notification, as one database round trip. */
export interface PromptClaims {
  /**
   * In one statement: loads the request if it still awaits its notification, with its user; checks
   * the prompt limits and counts the prompt (as `NotificationLimiter.acquire`); and, when allowed,
   * stores `tokens` for the request (idempotent: a resend derives and stores the same ones).
   */
  claim(requestId: string, now: Date, limits: PromptLimits, tokens: readonly ClaimToken[]): Promise<PromptClaim>;
  /**
   * Gives back the prompt a claim counted (`countedNow`) for a request that then reached no one (no
   * channel reaches the user): a request never taken to the user uses no budget.
   */
  release(request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, countedAt: Date, limits: PromptLimits): Promise<void>;
}

/** Failed client authentications, counted per key (a client id, a source address) in fixed windows. */
export interface ClientAuthFailureCounter {
  /** Failures recorded for each key in the window starting at `windowStart`; keys without any are absent. */
  count(keys: readonly string[], windowStart: Date): Promise<Map<string, number>>;
  /** Adds one failure to each key in that window; the window's rows are dropped once `expiresAt` passes. */
  record(keys: readonly string[], windowStart: Date, expiresAt: Date): Promise<void>;
}
