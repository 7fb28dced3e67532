import { describe, expect, it } from '@jest/globals';
import { retryable, permanent } from './delivery-outcome.js';
import { nextDeliveryStep, retryDelayMs } from './retry-schedule.js';

const noJitter = { random: () => 0 };
const fullJitter = { random: () => 0.999_999 };

describe('retryDelayMs', () => {
  it('doubles from baseMs with each failed attempt', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, null, noJitter))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it('never exceeds maxMs, even after very many attempts', () => {
    expect(retryDelayMs(10, null, { ...noJitter, maxMs: 60_000 })).toBe(60_000);
    expect(retryDelayMs(5_000, null, noJitter)).toBe(300_000);
  });

  it('jitters by shortening only, by at most jitterRatio', () => {
    expect(retryDelayMs(3, null, fullJitter)).toBe(3_200);
    expect(retryDelayMs(3, null, { random: () => 0.5, jitterRatio: 0.5 })).toBe(3_000);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(3, null);
      expect(delay).toBeGreaterThanOrEqual(3_200);
      expect(delay).toBeLessThanOrEqual(4_000);
    }
  });

  it('honours Retry-After (RFC 9110 §10.2.3) instead of the curve, never sooner than asked', () => {
    expect(retryDelayMs(1, 7_000, noJitter)).toBe(7_000);
    expect(retryDelayMs(6, 7_000, noJitter)).toBe(7_000);
    expect(retryDelayMs(1, 7_000, { random: () => 0.5 })).toBe(7_700);
  });

  it('floors Retry-After at baseMs and caps it at maxMs', () => {
    expect(retryDelayMs(4, 0, noJitter)).toBe(1_000);
    expect(retryDelayMs(1, 3_600_000, { ...noJitter, maxMs: 300_000 })).toBe(300_000);
  });

  it('refuses a meaningless attempt number', () => {
    expect(() => retryDelayMs(0, null)).toThrow(RangeError);
    expect(() => retryDelayMs(1.5, null)).toThrow(RangeError);
  });
});

describe('nextDeliveryStep', () => {
  it('is done after a delivery', () => {
    expect(nextDeliveryStep({ kind: 'delivered', status: 204, latencyMs: 3 }, 1, 8)).toEqual({ action: 'done' });
  });

  it('never retries a permanent failure (a 401 endpoint is called exactly once)', () => {
    expect(nextDeliveryStep(permanent('unauthorized', 3, 401), 1, 8)).toEqual({ action: 'give_up', reason: 'unauthorized', attemptsExhausted: false });
  });

  it('retries a retryable failure with the schedule until maxAttempts, then gives up', () => {
    expect(nextDeliveryStep(retryable('server_error', 3, 503), 2, 8, noJitter)).toEqual({ action: 'retry', delayMs: 2_000 });
    expect(nextDeliveryStep(retryable('rate_limited', 3, 429, 7_000), 2, 8, noJitter)).toEqual({ action: 'retry', delayMs: 7_000 });
    expect(nextDeliveryStep(retryable('server_error', 3, 503), 8, 8)).toEqual({ action: 'give_up', reason: 'server_error', attemptsExhausted: true });
  });
});
