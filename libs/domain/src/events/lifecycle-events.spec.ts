import { describe, expect, it } from '@jest/globals';
import { pendingRequest } from '../../test/auth-request.fixture.js';
import { requestCreated, requestDecided, requestExpired } from './lifecycle-events.js';

const request = pendingRequest({ bindingMessage: 'Approve 42', clientNotificationToken: 'cnt', correlationId: 'corr-1' });

describe('lifecycle events', () => {
  it('carry a deterministic event id so republishing is harmless', () => {
    expect(requestCreated(request, 5).eventId).toBe(`${request.id}:auth_request.created`);
    expect(requestCreated(request, 5)).toEqual(requestCreated(request, 5));
  });

  it('never carry the auth_req_id, the binding message or the client notification token', () => {
    const json = JSON.stringify([requestCreated(request, 5), requestExpired(request, new Date())]);
    expect(json).not.toContain('secret-handle');
    expect(json).not.toContain('Approve 42');
    expect(json).not.toContain('cnt"');
  });

  it('RFC 9396 §13 the created event keeps the authorization details types only, never their values', () => {
    const withDetails = pendingRequest({
      authorizationDetails: [
        { type: 'payment_initiation', creditorName: 'Merchant A', instructedAmount: { currency: 'EUR', amount: '123.50' } },
        { type: 'account_information', identifier: 'DE02100100109307118603' },
        { type: 'payment_initiation', creditorName: 'Merchant B' },
      ],
    });
    const event = requestCreated(withDetails, 5);
    expect(event.authorizationDetailsTypes).toEqual(['payment_initiation', 'account_information']);
    const json = JSON.stringify(event);
    for (const value of ['Merchant', '123.50', 'DE02100100109307118603', 'creditorName']) expect(json).not.toContain(value);
    expect(requestCreated(request, 5).authorizationDetailsTypes).toEqual([]);
  });

  it('§7.3 push requests announce no interval', () => {
    expect(requestCreated({ ...request, deliveryMode: 'push' }, 5).interval).toBeNull();
  });

  it('a decision event follows the request status and refuses an undecided request', () => {
    const at = new Date('2026-01-01T00:01:00Z');
    expect(requestDecided({ ...request, status: 'approved', decidedAt: at })).toMatchObject({ type: 'auth_request.approved', occurredAt: at.toISOString() });
    expect(requestDecided({ ...request, status: 'approved', decidedAt: at })).not.toHaveProperty('acr');
    // After a passkey step-up the audit trail shows which authentication the approval rests on.
    expect(requestDecided({ ...request, status: 'approved', decidedAt: at, acr: 'phr', amr: ['pop', 'user', 'mfa'] })).toMatchObject({ acr: 'phr', amr: ['pop', 'user', 'mfa'] });
    expect(requestDecided({ ...request, status: 'denied', decidedAt: at, denialReason: 'CANCELLED' })).toMatchObject({ type: 'auth_request.denied', reason: 'CANCELLED' });
    expect(() => requestDecided(request)).toThrow(/not decided/);
  });

  it('a request refused by a prompt limit says which limit, so the audit trail shows it', () => {
    const at = new Date('2026-01-01T00:01:00Z');
    const refused = { ...request, status: 'denied' as const, decidedAt: at, denialReason: 'RATE_LIMITED' as const };
    expect(requestDecided(refused, 'client_user')).toMatchObject({ type: 'auth_request.denied', reason: 'RATE_LIMITED', limit: 'client_user' });
    expect(requestDecided({ ...refused, denialReason: 'UNAUTHORIZED' })).not.toHaveProperty('limit');
  });
});
