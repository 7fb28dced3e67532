import { describe, expect, it } from '@jest/globals';
import { PermanentError, RetryableError } from './errors.js';
import { outcomeOfError, retryDelayMs, retryPolicyFor, settle } from './settlement.js';
import type { RetryPolicy } from './settlement.js';
import { consumerDefinition } from './catalogue.js';

const curve: RetryPolicy = { maxDeliver: 4, backoffMs: [100, 200, 400], baseDelayMs: 1_000, maxDelayMs: 10_000, jitterRatio: 0 };
const exponential: RetryPolicy = { maxDeliver: 20, baseDelayMs: 1_000, maxDelayMs: 60_000, jitterRatio: 0 };
const failed = { kind: 'failed', message: 'boom' } as const;

describe('settle', () => {
  it('acks a success', () => {
    expect(settle({ kind: 'success' }, 1, curve)).toEqual({ action: 'ack' });
  });

  it('retries a failure on the explicit curve, repeating its last entry', () => {
    expect(settle(failed, 1, curve)).toEqual({ action: 'retry', delayMs: 100 });
    expect(settle(failed, 2, curve)).toEqual({ action: 'retry', delayMs: 200 });
    expect(settle(failed, 3, curve)).toEqual({ action: 'retry', delayMs: 400 });
    expect(settle(failed, 3, { ...curve, maxDeliver: 10 })).toEqual({ action: 'retry', delayMs: 400 });
    expect(settle(failed, 7, { ...curve, maxDeliver: 10 })).toEqual({ action: 'retry', delayMs: 400 });
  });

  it('dead-letters once the delivery count reaches maxDeliver', () => {
    const settlement = settle(failed, 4, curve);
    expect(settlement).toEqual({ action: 'dead-letter', reason: 'gave up after 4 deliveries (max 4): boom' });
    expect(settle({ kind: 'retryable', message: 'later', delayMs: 5 }, 5, curve).action).toBe('dead-letter');
  });

  it('dead-letters permanent failures and malformed messages on the first delivery', () => {
    expect(settle({ kind: 'permanent', message: 'no such client' }, 1, curve)).toEqual({
      action: 'dead-letter',
      reason: 'permanent failure: no such client',
    });
    expect(settle({ kind: 'malformed', message: 'bad json' }, 1, curve)).toEqual({
      action: 'dead-letter',
      reason: 'malformed message: bad json',
    });
  });

  it('honours the delay a RetryableError asks for, bounded by maxDelayMs', () => {
    expect(settle({ kind: 'retryable', message: 'x', delayMs: 3_000 }, 1, curve)).toEqual({ action: 'retry', delayMs: 3_000 });
    expect(settle({ kind: 'retryable', message: 'x', delayMs: 999_999 }, 1, curve)).toEqual({ action: 'retry', delayMs: 10_000 });
    expect(settle({ kind: 'retryable', message: 'x' }, 2, curve)).toEqual({ action: 'retry', delayMs: 200 });
  });

  it('keeps reasons on one bounded line (they travel in a header)', () => {
    const settlement = settle({ kind: 'permanent', message: `line one\r\nline two ${'x'.repeat(500)}` }, 1, curve);
    expect(settlement.action).toBe('dead-letter');
    const reason = settlement.action === 'dead-letter' ? settlement.reason : '';
    expect(reason).not.toMatch(/[\r\n]/);
    expect(reason.length).toBeLessThanOrEqual(200);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base and stops at maxDelayMs', () => {
    expect([1, 2, 3, 4, 6, 7, 8, 19].map((n) => retryDelayMs(n, exponential))).toEqual([
      1_000, 2_000, 4_000, 8_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('removes at most jitterRatio of the delay', () => {
    const policy = { ...exponential, jitterRatio: 0.2 };
    expect(retryDelayMs(2, policy, () => 0)).toBe(2_000);
    expect(retryDelayMs(2, policy, () => 0.5)).toBe(1_800);
    expect(retryDelayMs(2, policy, () => 0.999999)).toBe(1_600);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(3, policy);
      expect(delay).toBeGreaterThanOrEqual(3_200);
      expect(delay).toBeLessThanOrEqual(4_000);
    }
  });
});

describe('outcomeOfError', () => {
  it('classifies the bus errors, Nest-filtered errors and anything else', () => {
    expect(outcomeOfError(new PermanentError('gone'))).toEqual({ kind: 'permanent', message: 'gone' });
    expect(outcomeOfError(new RetryableError('busy', 250))).toEqual({ kind: 'retryable', message: 'busy', delayMs: 250 });
    expect(outcomeOfError(new RetryableError('busy'))).toEqual({ kind: 'retryable', message: 'busy' });
    expect(outcomeOfError(new Error('db down'))).toEqual({ kind: 'failed', message: 'db down' });
    expect(outcomeOfError({ status: 'error', message: 'Internal server error' })).toEqual({
      kind: 'failed',
      message: 'Internal server error',
    });
    expect(outcomeOfError(undefined)).toEqual({ kind: 'failed', message: 'handler failed' });
  });

  it('keeps the error itself as the RPC error, so Nest passes it through', () => {
    const error = new PermanentError('gone');
    expect(error.getError()).toBe(error);
    expect(error.name).toBe('PermanentError');
  });
});

describe('retryPolicyFor', () => {
  it('takes the numbers from the catalogue', () => {
    const notifier = retryPolicyFor(consumerDefinition('notifier'));
    expect(notifier.maxDeliver).toBe(8);
    expect(notifier.backoffMs).toHaveLength(7);
    const audit = retryPolicyFor(consumerDefinition('audit'));
    expect(audit.maxDeliver).toBe(20);
    expect(audit.backoffMs).toBeUndefined();
    expect(retryPolicyFor(consumerDefinition('audit'), { jitterRatio: 0 }).jitterRatio).toBe(0);
  });
});
