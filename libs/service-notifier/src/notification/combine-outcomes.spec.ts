import { describe, expect, it } from '@jest/globals';
import type { SendOutcome } from '@ciba/channels';
import { combineOutcomes } from './channel-delivery.js';

const sent: SendOutcome = { kind: 'sent', providerMessageId: 'm1' };
const busy = (retryAfterMs: number | null): SendOutcome => ({ kind: 'retryable', reason: 'push_service_unavailable', retryAfterMs });
const gone: SendOutcome = { kind: 'permanent', reason: 'subscription_gone' };

describe('device push to several devices: one outcome for the channel', () => {
  it('is delivered when any device took the message', () => {
    expect(combineOutcomes([gone, busy(null), sent])).toBe(sent);
  });

  it('is retryable when none took it but one may later, after the shortest wait asked for', () => {
    expect(combineOutcomes([gone, busy(30_000), busy(5_000), busy(null)])).toEqual({ kind: 'retryable', reason: 'push_service_unavailable', retryAfterMs: 5_000 });
  });

  it('is permanent when every device failed for good', () => {
    expect(combineOutcomes([gone, gone])).toEqual(gone);
  });

  it('is permanent (no_registered_device) when the user has no device an adapter can reach', () => {
    expect(combineOutcomes([])).toEqual({ kind: 'permanent', reason: 'no_registered_device' });
  });
});
