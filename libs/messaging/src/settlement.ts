import type { ConsumerDefinition } from './catalogue.js';
import { PermanentError, RetryableError } from './errors.js';

/** What a handler did with one delivery. */
export type HandlerOutcome =
  | { readonly kind: 'success' }
  /** The handler asked for a retry (`RetryableError`), optionally after a given delay. */
  | { readonly kind: 'retryable'; readonly message: string; readonly delayMs?: number }
  /** Any other error: retried on the curve. */
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'permanent'; readonly message: string }
  | { readonly kind: 'malformed'; readonly message: string };

export type Settlement =
  | { readonly action: 'ack' }
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'dead-letter'; readonly reason: string };

export interface RetryPolicy {
  readonly maxDeliver: number;
  /** Explicit curve; when absent the delay is `baseDelayMs * 2^(n-1)` capped at `maxDelayMs`. */
  readonly backoffMs?: readonly number[];
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Share of the delay removed at random (0 … 1) so that a burst of failures does not retry in lockstep. */
  readonly jitterRatio: number;
}

export const DEFAULT_RETRY: Readonly<Omit<RetryPolicy, 'maxDeliver' | 'backoffMs'>> = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 120_000,
  jitterRatio: 0.2,
});

export function retryPolicyFor(consumer: ConsumerDefinition, overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    ...DEFAULT_RETRY,
    maxDeliver: consumer.maxDeliver,
    ...(consumer.backoffMs ? { backoffMs: consumer.backoffMs } : {}),
    ...overrides,
  };
}

const MAX_REASON_LENGTH = 200;

/**
 * The one decision both bus servers apply to a finished delivery. `deliveryCount` starts at 1.
 * Pure apart from `random`, which only shapes the jitter.
 */
export function settle(
  outcome: HandlerOutcome,
  deliveryCount: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Settlement {
  switch (outcome.kind) {
    case 'success':
      return { action: 'ack' };
    case 'permanent':
      return { action: 'dead-letter', reason: reason(`permanent failure: ${outcome.message}`) };
    case 'malformed':
      return { action: 'dead-letter', reason: reason(`malformed message: ${outcome.message}`) };
    case 'retryable':
    case 'failed': {
      if (deliveryCount >= policy.maxDeliver) {
        return {
          action: 'dead-letter',
          reason: reason(`gave up after ${deliveryCount} deliveries (max ${policy.maxDeliver}): ${outcome.message}`),
        };
      }
      const requested = outcome.kind === 'retryable' ? outcome.delayMs : undefined;
      const delayMs =
        requested !== undefined && Number.isFinite(requested)
          ? clamp(requested, 0, policy.maxDelayMs)
          : retryDelayMs(deliveryCount, policy, random);
      return { action: 'retry', delayMs: Math.round(delayMs) };
    }
  }
}

/** The delay after failed delivery `deliveryCount`: the curve value, less up to `jitterRatio` of it. */
export function retryDelayMs(deliveryCount: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const attempt = Math.max(1, Math.floor(deliveryCount));
  const curve = policy.backoffMs;
  const nominal =
    curve && curve.length > 0
      ? curve[Math.min(attempt, curve.length) - 1]
      : policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30);
  const bounded = clamp(nominal, 0, policy.maxDelayMs);
  const jitter = clamp(policy.jitterRatio, 0, 1) * clamp(random(), 0, 1);
  return Math.round(bounded * (1 - jitter));
}

/** Maps whatever a handler threw (possibly after Nest's exception filter) to an outcome. */
export function outcomeOfError(error: unknown): HandlerOutcome {
  if (error instanceof PermanentError) return { kind: 'permanent', message: error.message };
  if (error instanceof RetryableError) {
    return error.delayMs === undefined
      ? { kind: 'retryable', message: error.message }
      : { kind: 'retryable', message: error.message, delayMs: error.delayMs };
  }
  return { kind: 'failed', message: messageOf(error) };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Nest's default RPC filter turns unknown errors into { status: 'error', message }.
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return typeof error === 'string' ? error : 'handler failed';
}

/** Reasons travel in a NATS header: one line, bounded length. */
function reason(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ').trim();
  return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH - 1)}…` : line;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
