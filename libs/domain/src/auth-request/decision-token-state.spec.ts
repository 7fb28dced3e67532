import { describe, expect, it } from '@jest/globals';
import { at, pendingRequest } from '../../test/auth-request.fixture.js';
import type { DecisionTokenRecord } from '../ports/ports.js';
import { tokenDecisionOf } from './auth-request.js';
import { decisionTokenState, standingDecision } from './decision-token-state.js';

const request = pendingRequest();
const token = (overrides: Partial<DecisionTokenRecord> = {}): DecisionTokenRecord => ({
  tokenHash: 'h',
  requestId: request.id,
  channel: 'http',
  expiresAt: request.expiresAt,
  usedAt: null,
  decision: null,
  ...overrides,
});

describe('decisionTokenState', () => {
  it('an unknown token (or one issued for another channel) is gone', () => {
    expect(decisionTokenState(null, at(1))).toEqual({ kind: 'gone' });
  });

  it('an unused token of a pending request is usable', () => {
    expect(decisionTokenState({ token: token(), request }, at(1))).toEqual({ kind: 'usable', request });
  });

  it('lost approvals: a used token reports the decision it recorded, so a retry learns its decision stands', () => {
    const approved = { ...request, status: 'redeemed' as const };
    expect(decisionTokenState({ token: token({ usedAt: at(2), decision: 'approved' }), request: approved }, at(3))).toEqual({ kind: 'used', decision: 'approved', request: approved });
    // Even past expiry: the decision was recorded in time.
    expect(decisionTokenState({ token: token({ usedAt: at(2), decision: 'denied' }), request }, at(90))).toMatchObject({ kind: 'used', decision: 'denied' });
  });

  it('an unused token of a request decided through another token is settled, not used', () => {
    const denied = { ...request, status: 'denied' as const, denialReason: 'UNAUTHORIZED' as const };
    expect(decisionTokenState({ token: token(), request: denied }, at(1))).toEqual({ kind: 'settled', request: denied });
  });

  it('§11 a token or request past its lifetime is expired, whether or not the sweeper ran', () => {
    expect(decisionTokenState({ token: token(), request }, at(60))).toEqual({ kind: 'expired' });
    expect(decisionTokenState({ token: token({ expiresAt: at(10) }), request }, at(10))).toEqual({ kind: 'expired' });
    expect(decisionTokenState({ token: token(), request: { ...request, status: 'expired' } }, at(1))).toEqual({ kind: 'expired' });
  });
});

describe('standingDecision and tokenDecisionOf', () => {
  it('name a decision by its outcome', () => {
    expect(standingDecision({ status: 'approved' })).toBe('approved');
    expect(standingDecision({ status: 'redeemed' })).toBe('approved');
    expect(standingDecision({ status: 'denied' })).toBe('denied');
    expect(standingDecision({ status: 'pending' })).toBeNull();
    expect(standingDecision({ status: 'expired' })).toBeNull();
    expect(tokenDecisionOf({ kind: 'approve' })).toBe('approved');
    expect(tokenDecisionOf({ kind: 'deny', reason: 'CANCELLED' })).toBe('denied');
  });
});
