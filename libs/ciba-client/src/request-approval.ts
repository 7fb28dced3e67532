import type { CibaClient } from './client.js';
import { CibaClientError } from './errors.js';
import { nextPollDelay } from './outcome.js';
import type { PingExpectation, PingReceiver } from './ping-receiver.js';
import {
  type ApprovalTokens,
  type AuthorizationDetail,
  type PollResult,
  type StartApprovalParams,
  type StartedApproval,
  type UserHint,
  pollOnce,
  startApproval,
} from './primitives.js';

/** How a ping-mode request polls anyway when no ping came, in case the provider's ping was lost. */
export const PING_FALLBACK_POLL_SECONDS = 60;

export interface RequestApprovalOptions {
  readonly client: CibaClient;
  /** The user to ask: a login_hint string, or any one of the CIBA §7.1 hints. */
  readonly user: string | UserHint;
  /** A short name of the action (`payment`, `delete-repo`); the binding message when none is given. */
  readonly action?: string;
  /** Shown on the user's device; make it a pure function of the action so both sides can compare it. */
  readonly bindingMessage?: string;
  /** RFC 9396: the exact action being approved. */
  readonly authorizationDetails?: readonly AuthorizationDetail[];
  /** Default `openid`. */
  readonly scope?: string | readonly string[];
  readonly acrValues?: string | readonly string[];
  /** Seconds the provider should keep the request open (it may shorten it). */
  readonly requestedExpiry?: number;
  /** Cancels the request: polling stops at once and the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Give up after this many milliseconds (outcome `timed_out`), even if the provider would wait longer. */
  readonly timeoutMs?: number;
  /** `poll` (default) or `ping`, which needs `ping` and a client registered for ping delivery. */
  readonly mode?: 'poll' | 'ping';
  readonly ping?: PingReceiver;
  /** Called once the provider accepted the request, e.g. to show the binding message and auth_req_id. */
  readonly onStarted?: (started: StartedApproval) => void;
  /** Called with every poll's result (for logs and metrics; never with secrets beyond the tokens themselves). */
  readonly onPoll?: (result: PollResult) => void;
}

/** How `requestApproval` ended. Only `approved` carries tokens. */
export type ApprovalOutcome =
  | { readonly status: 'approved'; readonly authReqId: string; readonly tokens: ApprovalTokens }
  | { readonly status: 'denied'; readonly authReqId: string; readonly error: string; readonly description?: string }
  | { readonly status: 'expired'; readonly authReqId: string; readonly description?: string }
  | { readonly status: 'timed_out'; readonly authReqId: string };

/**
 * Asks `user` to approve an action on their device and waits for the decision: sends the CIBA
 * backchannel request, then polls the token endpoint (poll mode) or waits for the provider's ping
 * and polls once (ping mode). Polls never come sooner than the provider's `interval` (5 s when it
 * gives none), and each slow_down adds 5 s to it (CIBA §7.3, RFC 8628 §3.5).
 *
 * Resolves with the outcome; rejects with the signal's reason when `signal` aborts, and with a
 * {@link CibaClientError} for anything the protocol does not define as an outcome (a client that
 * may not use CIBA, an unknown user, a provider that cannot be reached).
 */
export async function requestApproval(options: RequestApprovalOptions): Promise<ApprovalOutcome> {
  const { client, signal } = options;
  const mode = options.mode ?? 'poll';
  if (mode === 'ping' && !options.ping) throw new CibaClientError('invalid_argument', 'ping mode needs a PingReceiver (options.ping)');
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new CibaClientError('invalid_argument', 'timeoutMs must be positive');
  signal?.throwIfAborted();
  const timeoutAt = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const expectation = mode === 'ping' ? options.ping!.expect() : null;
  try {
    const params = {
      ...hint(options.user),
      ...defined({
        scope: options.scope,
        bindingMessage: options.bindingMessage ?? options.action,
        authorizationDetails: options.authorizationDetails,
        acrValues: options.acrValues,
        requestedExpiry: options.requestedExpiry,
        clientNotificationToken: expectation?.clientNotificationToken,
      }),
    } as StartApprovalParams;
    const started = await abortable(startApproval(client, params), signal);
    expectation?.bind(started.authReqId);
    options.onStarted?.(started);
    return await waitForDecision(options, started, expectation, timeoutAt);
  } finally {
    expectation?.cancel();
  }
}

async function waitForDecision(options: RequestApprovalOptions, started: StartedApproval, expectation: PingExpectation | null, timeoutAt: number): Promise<ApprovalOutcome> {
  const { client, signal } = options;
  const authReqId = started.authReqId;
  const expiresAt = Date.now() + started.expiresIn * 1000;
  let interval = started.interval;
  let since = Date.now();
  for (;;) {
    if (expectation) {
      // Ping mode: sleep until the ping, the end of the request's life, the caller's limit or the
      // fallback poll, whichever comes first.
      const fallbackAt = since + Math.max(interval, PING_FALLBACK_POLL_SECONDS) * 1000;
      await sleep(Math.min(expiresAt, timeoutAt, fallbackAt) - Date.now(), signal, expectation.pinged);
    }
    // Never sooner than the interval after the request or the last poll, whatever woke us.
    await sleep(nextPollDelay(Date.now(), since, interval, timeoutAt), signal);
    if (Date.now() >= timeoutAt) return { status: 'timed_out', authReqId };
    // A timer may fire a millisecond early by the wall clock: sleep the rest rather than poll too soon (slow_down).
    if (nextPollDelay(Date.now(), since, interval, timeoutAt) > 0) continue;
    const result = await abortable(pollOnce(client, authReqId, { interval }), signal);
    since = Date.now();
    options.onPoll?.(result);
    switch (result.status) {
      case 'approved':
        return { status: 'approved', authReqId, tokens: result.tokens };
      case 'denied':
        return { status: 'denied', authReqId, error: result.error, ...defined({ description: result.description }) };
      case 'expired':
        return { status: 'expired', authReqId, ...defined({ description: result.description }) };
      case 'slow_down':
        interval = result.interval;
        break;
      case 'pending':
        break;
    }
    // The provider is the judge of expiry (its expired_token above), but a provider whose clock runs
    // behind must not keep us polling past the lifetime it announced.
    if (since >= expiresAt) return { status: 'expired', authReqId };
  }
}

function hint(user: string | UserHint): UserHint {
  if (typeof user === 'string') return { loginHint: user };
  return user;
}

/**
 * Resolves after `ms` (at once when ≤ 0), or as soon as `wake` resolves; rejects with the signal's
 * reason as soon as it aborts. Leaves no timer or listener behind either way.
 */
function sleep(ms: number, signal: AbortSignal | undefined, wake?: Promise<void>): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(signal!.reason as Error);
    const timer = setTimeout(() => finish(), Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
    void wake?.then(() => finish());
  });
}

/**
 * `promise`, or the signal's reason as soon as it aborts. The request itself cannot be withdrawn
 * from openid-client; its answer is dropped, which for a poll that redeemed an approval means the
 * tokens are never used (the caller asked to stop).
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** The object without its undefined members (exactOptionalPropertyTypes-friendly spreading). */
function defined<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
