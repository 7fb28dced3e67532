import type { AuthRequest } from './auth-request.js';

/**
 * What a poll needs to know about a request that is still pending, so the token endpoint can answer
 * `authorization_pending` / `slow_down` without a database round trip (CIBA §11). Times in epoch ms.
 */
export interface PendingPollState {
  readonly clientId: string;
  readonly expiresAt: number;
  readonly interval: number;
  readonly lastPolledAt: number | null;
}

export function pendingPollStateOf(request: AuthRequest): PendingPollState {
  return {
    clientId: request.clientId,
    expiresAt: request.expiresAt.getTime(),
    interval: request.interval,
    lastPolledAt: request.lastPolledAt?.getTime() ?? null,
  };
}

/**
 * The same rule as the repository's atomic `recordPoll`: a poll at least `interval` seconds after
 * the previous one is recorded; a sooner one leaves the last poll time and grows the interval.
 */
export function nextPollState(state: PendingPollState, now: number, slowDownIncrement: number): { state: PendingPollState; tooSoon: boolean } {
  const tooSoon = state.lastPolledAt !== null && now - state.lastPolledAt < state.interval * 1000;
  return tooSoon
    ? { state: { ...state, interval: state.interval + slowDownIncrement }, tooSoon }
    : { state: { ...state, lastPolledAt: now }, tooSoon };
}

export type CachedPollAnswer = { readonly tooSoon: boolean; readonly interval: number };

/**
 * Answers polls for requests known to be pending. The database stays the source of truth: the
 * cache answers only while it holds a pending, unexpired entry of the same client; otherwise it
 * returns null and the repository decides. Deciding a request first `settle`s it here, so the cache
 * can never answer "pending" for a decided request.
 */
export interface PendingPollCache {
  /**
   * Atomically records a poll (across replicas); null when the cache cannot answer. Entries are
   * keyed by request id: the caller has verified the auth_req_id that refers to it.
   */
  recordPoll(clientId: string, requestId: string, now: Date, slowDownIncrement: number): Promise<CachedPollAnswer | null>;
  /** The request is pending (just read from the database): later polls may be answered here. Never overwrites a settled entry. */
  rememberPending(request: AuthRequest): Promise<void>;
  /** The request is about to leave pending: stop answering for it, for good. */
  settle(requestId: string, expiresAt: Date): Promise<void>;
}
