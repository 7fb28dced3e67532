import type { DeliveryOutcome } from './delivery-outcome.js';

export interface RetryScheduleOptions {
  /** Delay after the first failed attempt. */
  readonly baseMs?: number;
  /** No delay is longer than this, Retry-After included. */
  readonly maxMs?: number;
  /** Fraction of the delay randomised, to spread retries of many messages apart. */
  readonly jitterRatio?: number;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/**
 * How long to wait before the next attempt, given that `attempt` attempts (1-based) have failed.
 *
 * Without Retry-After: exponential, `baseMs · 2^(attempt-1)` capped at `maxMs`, with jitter that
 * only shortens it (by up to `jitterRatio`), so the cap is a true upper bound.
 *
 * With Retry-After (RFC 9110 §10.2.3) the endpoint's figure replaces the curve — it knows when it
 * will recover — but never sooner than it asked: jitter only lengthens it, and it is floored at
 * `baseMs` so "Retry-After: 0" cannot make a tight loop. `maxMs` still caps it: the consumer's
 * horizon is bounded, and the next answer can ask again.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | null, options: RetryScheduleOptions = {}): number {
  const { baseMs = 1000, maxMs = 300_000, jitterRatio = 0.2, random = Math.random } = options;
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive integer, got ${attempt}`);
  const jitter = Math.min(Math.max(jitterRatio, 0), 1) * random();
  if (retryAfterMs !== null) {
    return Math.round(Math.min(Math.max(retryAfterMs, baseMs) * (1 + jitter), maxMs));
  }
  // 2^(attempt-1) overflows to Infinity long after the cap applies; Math.min handles it.
  const exponential = Math.min(baseMs * 2 ** (attempt - 1), maxMs);
  return Math.round(exponential * (1 - jitter));
}

export type DeliveryStep =
  | { readonly action: 'done' }
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'give_up'; readonly reason: string; readonly attemptsExhausted: boolean };

/**
 * What the caller (a JetStream consumer) does after attempt number `attempt`: ack, nak with a
 * delay, or dead-letter. Permanent failures are never retried; retryable ones until
 * `maxAttempts` attempts have been made.
 */
export function nextDeliveryStep(outcome: DeliveryOutcome, attempt: number, maxAttempts: number, schedule: RetryScheduleOptions = {}): DeliveryStep {
  switch (outcome.kind) {
    case 'delivered':
      return { action: 'done' };
    case 'permanent':
      return { action: 'give_up', reason: outcome.reason, attemptsExhausted: false };
    case 'retryable':
      if (attempt >= maxAttempts) return { action: 'give_up', reason: outcome.reason, attemptsExhausted: true };
      return { action: 'retry', delayMs: retryDelayMs(attempt, outcome.retryAfterMs, schedule) };
  }
}
