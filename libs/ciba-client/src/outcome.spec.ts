import { describe, expect, it } from '@jest/globals';
import { DEFAULT_INTERVAL_SECONDS, classifyTokenError, nextPollDelay, sanitizeInterval } from './outcome.js';

describe('classifyTokenError (CIBA §11)', () => {
  it('authorization_pending is pending', () => {
    expect(classifyTokenError('authorization_pending', 'not yet', 5)).toEqual({ status: 'pending' });
  });

  it('slow_down adds 5 s to the interval in use (RFC 8628 §3.5)', () => {
    expect(classifyTokenError('slow_down', undefined, 2)).toEqual({ status: 'slow_down', interval: 7 });
    expect(classifyTokenError('slow_down', undefined, 7)).toEqual({ status: 'slow_down', interval: 12 });
  });

  it('slow_down takes a larger interval the provider states, never a smaller one', () => {
    expect(classifyTokenError('slow_down', undefined, 5, 30)).toEqual({ status: 'slow_down', interval: 30 });
    expect(classifyTokenError('slow_down', undefined, 5, 1)).toEqual({ status: 'slow_down', interval: 10 });
    expect(classifyTokenError('slow_down', undefined, 5, 'soon')).toEqual({ status: 'slow_down', interval: 10 });
  });

  it('access_denied is denied, with the provider description', () => {
    expect(classifyTokenError('access_denied', 'the user said no', 5)).toEqual({ status: 'denied', error: 'access_denied', description: 'the user said no' });
    expect(classifyTokenError('access_denied', undefined, 5)).toEqual({ status: 'denied', error: 'access_denied' });
  });

  it('expired_token is expired', () => {
    expect(classifyTokenError('expired_token', undefined, 5)).toEqual({ status: 'expired' });
  });

  it('every other error is not an outcome (the caller throws it)', () => {
    for (const error of ['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_request', 'server_error', '']) {
      expect(classifyTokenError(error, 'x', 5)).toBeNull();
    }
  });
});

describe('sanitizeInterval (CIBA §7.3)', () => {
  it('uses the provider interval, rounded up', () => {
    expect(sanitizeInterval(2)).toBe(2);
    expect(sanitizeInterval(2.2)).toBe(3);
  });

  it('falls back to 5 s for a missing, zero, negative or non-numeric interval: no tight polling loop', () => {
    for (const bad of [undefined, null, 0, -3, 0.5, Number.NaN, Number.POSITIVE_INFINITY, '2']) {
      expect(sanitizeInterval(bad)).toBe(DEFAULT_INTERVAL_SECONDS);
    }
  });

  it('caps an absurd interval at an hour', () => {
    expect(sanitizeInterval(1e9)).toBe(3600);
  });
});

describe('nextPollDelay', () => {
  const t0 = 1_700_000_000_000;

  it('waits the full interval after the request or the previous poll', () => {
    expect(nextPollDelay(t0, t0, 5, Infinity)).toBe(5000);
    expect(nextPollDelay(t0 + 2000, t0, 5, Infinity)).toBe(3000);
  });

  it('never polls sooner than the interval, however early it is asked (a ping, a wake-up)', () => {
    expect(nextPollDelay(t0 + 100, t0, 7, Infinity)).toBe(6900);
  });

  it('is zero once the interval has passed', () => {
    expect(nextPollDelay(t0 + 9000, t0, 5, Infinity)).toBe(0);
  });

  it('stops at the deadline when it comes before the next poll', () => {
    expect(nextPollDelay(t0, t0, 5, t0 + 1500)).toBe(1500);
    expect(nextPollDelay(t0 + 2000, t0, 5, t0 + 1500)).toBe(0);
  });
});
