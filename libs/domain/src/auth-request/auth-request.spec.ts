import { describe, expect, it } from '@jest/globals';
import { at, pendingRequest } from '../../test/auth-request.fixture.js';
import { IllegalTransition, decide, denialDescription, effectiveStatus, expire, pollOutcome, redeem, secondsUntilExpiry } from './auth-request.js';

const pending = pendingRequest;

describe('authentication request state machine', () => {
  it('pending → approved records the decision time (the ID token auth_time)', () => {
    const approved = decide(pending(), { kind: 'approve' }, at(10));
    expect(approved).toMatchObject({ status: 'approved', decidedAt: at(10), denialReason: null, acr: null, amr: [] });
  });

  it('pending → denied keeps the device reason', () => {
    expect(decide(pending(), { kind: 'deny', reason: 'CANCELLED' }, at(10))).toMatchObject({ status: 'denied', denialReason: 'CANCELLED' });
  });

  it('a pending request past its expiry is expired, and cannot be decided', () => {
    expect(effectiveStatus(pending(), at(59))).toBe('pending');
    expect(effectiveStatus(pending(), at(60))).toBe('expired');
    expect(() => decide(pending(), { kind: 'approve' }, at(60))).toThrow(IllegalTransition);
    expect(expire(pending(), at(61)).status).toBe('expired');
    expect(() => expire(pending(), at(30))).toThrow(IllegalTransition);
  });

  it('a decided request cannot be decided again', () => {
    const approved = decide(pending(), { kind: 'approve' }, at(1));
    expect(() => decide(approved, { kind: 'deny', reason: 'UNAUTHORIZED' }, at(2))).toThrow(IllegalTransition);
  });

  it('an approval with a passkey step-up records the satisfied acr and the amr', () => {
    const approved = decide(pending(), { kind: 'approve', stepUp: { acr: 'phr', amr: ['pop', 'user', 'mfa'] } }, at(10));
    expect(approved).toMatchObject({ status: 'approved', acr: 'phr', amr: ['pop', 'user', 'mfa'] });
  });

  it('only an approved request can be redeemed, once', () => {
    const approved = decide(pending(), { kind: 'approve' }, at(1));
    const redeemed = redeem(approved, at(2));
    expect(redeemed).toMatchObject({ status: 'redeemed', redeemedAt: at(2) });
    expect(() => redeem(redeemed, at(3))).toThrow(IllegalTransition);
    expect(() => redeem(pending(), at(3))).toThrow(IllegalTransition);
  });

  it('an approved request stays redeemable after the request lifetime', () => {
    const approved = decide(pending(), { kind: 'approve' }, at(1));
    expect(effectiveStatus(approved, at(120))).toBe('approved');
  });

  it.each([
    ['pending', pending(), false, 'pending'],
    ['pending, polled too soon', pending({ interval: 10 }), true, 'slow_down'],
    ['approved', pending({ status: 'approved' }), false, 'approved'],
    ['denied', pending({ status: 'denied' }), false, 'denied'],
    ['redeemed', pending({ status: 'redeemed' }), false, 'redeemed'],
    ['pending past expiry', pending({ expiresAt: at(1) }), false, 'expired'],
  ] as const)('§11 poll outcome for a %s request', (_label, request, tooSoon, kind) => {
    expect(pollOutcome(request, at(5), tooSoon).kind).toBe(kind);
  });

  it('§11 slow_down reports the grown interval', () => {
    expect(pollOutcome(pending({ interval: 10 }), at(5), true)).toEqual({ kind: 'slow_down', interval: 10 });
  });

  it('counts whole seconds left, never negative', () => {
    expect(secondsUntilExpiry(pending(), at(59.2))).toBe(1);
    expect(secondsUntilExpiry(pending(), at(100))).toBe(0);
  });
});

describe('§11 access_denied descriptions', () => {
  it('a request a prompt limit refused says it never reached the user, unlike a user denial', () => {
    expect(denialDescription('RATE_LIMITED')).toMatch(/not sent to the end-user because a prompt limit was reached/);
    expect(denialDescription('UNAUTHORIZED')).toBe('the end-user denied the authorization request');
    expect(denialDescription('CANCELLED')).toBe('the end-user denied the authorization request');
    expect(denialDescription('UNREACHABLE')).not.toBe(denialDescription('UNAUTHORIZED'));
  });
});
