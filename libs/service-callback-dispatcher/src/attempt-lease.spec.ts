import { describe, expect, it } from '@jest/globals';
import { ATTEMPT_LEASE_MARGIN_MS, afterRefusedClaim, attemptLeaseMs } from './attempt-lease.js';

const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);

describe('the lease of a callback attempt', () => {
  it('outlasts the longest attempt the sender allows: connect timeout, response timeout, and a margin', () => {
    expect(attemptLeaseMs({ connectTimeoutMs: 5_000, responseTimeoutMs: 10_000 })).toBe(15_000 + ATTEMPT_LEASE_MARGIN_MS);
  });

  it('double delivery: a redelivery refused the claim comes back only after the lease has ended', () => {
    const step = afterRefusedClaim(at(12_000), at(2_000), 2, 10);
    expect(step.action).toBe('retry_later');
    expect(step.delayMs).toBeGreaterThan(10_000);
  });

  it('lost callback: the last delivery the bus allows is kept and claimed again, never handed back', () => {
    for (const deliveryCount of [10, 11]) {
      const step = afterRefusedClaim(at(12_000), at(2_000), deliveryCount, 10);
      expect(step.action).toBe('wait');
      expect(step.delayMs).toBeGreaterThan(0);
      expect(step.delayMs).toBeLessThanOrEqual(10_000);
    }
  });

  it('waits briefly, not never, when the lease has already ended (a claim that raced with its release)', () => {
    expect(afterRefusedClaim(at(0), at(1_000), 10, 10).delayMs).toBeGreaterThan(0);
    expect(afterRefusedClaim(null, at(1_000), 1, 10).delayMs).toBeGreaterThan(0);
  });
});
