import { describe, expect, it } from '@jest/globals';
import { nextPollState, type PendingPollState } from './pending-poll-cache.js';

const state: PendingPollState = { clientId: 'c', expiresAt: 100_000, interval: 5, lastPolledAt: null };

describe('nextPollState', () => {
  it('§11 records the first poll', () => {
    expect(nextPollState(state, 1_000, 5)).toEqual({ state: { ...state, lastPolledAt: 1_000 }, tooSoon: false });
  });

  it('§11 a poll sooner than the interval is too soon and grows the interval by the increment', () => {
    const polled = { ...state, lastPolledAt: 1_000 };
    expect(nextPollState(polled, 5_999, 5)).toEqual({ state: { ...polled, interval: 10 }, tooSoon: true });
  });

  it('§11 a poll exactly one interval later is allowed', () => {
    const polled = { ...state, lastPolledAt: 1_000 };
    expect(nextPollState(polled, 6_000, 5)).toEqual({ state: { ...polled, lastPolledAt: 6_000 }, tooSoon: false });
  });
});
