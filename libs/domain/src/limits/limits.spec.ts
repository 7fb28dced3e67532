import { describe, expect, it } from '@jest/globals';
import { denialBackoffUntil, fixedWindowStart } from './limits.js';

const policy = { threshold: 3, windowMs: 3_600_000, baseMs: 300_000, maxMs: 1_200_000 };
const last = new Date('2026-01-01T10:00:00Z');
const plus = (ms: number) => new Date(last.getTime() + ms);

describe('denial back-off (seed: throttle surprise by recent denial history)', () => {
  it('no back-off below the threshold, or when off', () => {
    expect(denialBackoffUntil(2, last, policy)).toBeNull();
    expect(denialBackoffUntil(0, null, policy)).toBeNull();
    expect(denialBackoffUntil(10, last, { ...policy, threshold: 0 })).toBeNull();
  });

  it('starts at the base after the threshold-th denial and doubles with each further denial, up to the cap', () => {
    expect(denialBackoffUntil(3, last, policy)).toEqual(plus(300_000));
    expect(denialBackoffUntil(4, last, policy)).toEqual(plus(600_000));
    expect(denialBackoffUntil(5, last, policy)).toEqual(plus(1_200_000));
    expect(denialBackoffUntil(6, last, policy)).toEqual(plus(1_200_000));
    expect(denialBackoffUntil(5000, last, policy)).toEqual(plus(1_200_000));
  });
});

describe('fixed windows', () => {
  it('align on the epoch, so every replica agrees on the window', () => {
    expect(fixedWindowStart(new Date('2026-01-01T10:04:59.999Z'), 300_000)).toEqual(new Date('2026-01-01T10:00:00Z'));
    expect(fixedWindowStart(new Date('2026-01-01T10:05:00Z'), 300_000)).toEqual(new Date('2026-01-01T10:05:00Z'));
  });
});
