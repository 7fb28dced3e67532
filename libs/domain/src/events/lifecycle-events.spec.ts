import { describe, expect, it } from '@jest/globals';
import { pendingRequest } from '../../test/auth-request.fixture.js';
import { requestCreated, requestDecided, requestExpired, settledEvent } from './lifecycle-events.js';

const request = pendingRequest({ bindingMessage: 'Approve 42', sealedClientNotificationToken: 'v1.sealed-cnt', correlationId: 'corr-1' });

describe('lifecycle events', () => {
  it('carry a deterministic event id so republishing is harmless', () => {
    expect(requestCreated(request, 5).eventId).toBe(`${request.id}:auth_request.created`);
    expect(requestCreated(request, 5)).toEqual(requestCreated(request, 5));
  });

  it('never carry the client notification token (a request holds no auth_req_id)', () => {
    const json = JSON.stringify([requestCreated(request, 5), requestExpired(request, new Date())]);
    expect(json).not.toContain('sealed-cnt');
  });

  it('CIBA §7.1 the created event carries the binding_message and acr_values for the evidence record, only the expired one does not', () => {
    const created = requestCreated({ ...request, acrValues: ['urn:acr:passkey'] }, 5, { issuer: 'https://op.example', userHintHash: 'h' });
    expect(created).toMatchObject({ bindingMessage: 'Approve 42', acrValues: ['urn:acr:passkey'], issuer: 'https://op.example', userHintHash: 'h' });
    expect(JSON.stringify(requestExpired(request, new Date()))).not.toContain('Approve 42');
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

  it('lost approvals: the outcome event of a settled request can be rebuilt, with the id of the one first published', () => {
    const at = new Date('2026-01-01T00:01:00Z');
    const approved = { ...request, status: 'approved' as const, decidedAt: at, acr: 'phr', amr: ['pop', 'user', 'mfa'] };
    expect(settledEvent(approved)).toEqual(requestDecided(approved));
    // Redeemed before the approval was announced: still announced as the approval it was.
    expect(settledEvent({ ...approved, status: 'redeemed', redeemedAt: at })).toEqual(requestDecided(approved));
    const denied = { ...request, status: 'denied' as const, decidedAt: at, denialReason: 'CANCELLED' as const };
    expect(settledEvent(denied)).toEqual(requestDecided(denied));
    expect(settledEvent({ ...request, status: 'expired' })).toMatchObject({ type: 'auth_request.expired', eventId: requestExpired(request, at).eventId });
    expect(settledEvent(request)).toBeNull();
  });

  it('a request refused by a prompt limit says which limit, so the audit trail shows it', () => {
    const at = new Date('2026-01-01T00:01:00Z');
    const refused = { ...request, status: 'denied' as const, decidedAt: at, denialReason: 'RATE_LIMITED' as const, denialLimit: 'client_user' as const };
    expect(requestDecided(refused)).toMatchObject({ type: 'auth_request.denied', reason: 'RATE_LIMITED', limit: 'client_user' });
    // Republished from the stored request, the event is the same as the first.
    expect(settledEvent(refused)).toEqual(requestDecided(refused));
    expect(requestDecided({ ...refused, denialReason: 'UNAUTHORIZED', denialLimit: null })).not.toHaveProperty('limit');
  });
});
