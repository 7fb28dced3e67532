import { describe, expect, it } from '@jest/globals';
import type { AuthRequest } from '@ciba/domain';
import { fromAuthRequest, toAuthRequest } from './auth-request.mapper.js';

const request: AuthRequest = {
  id: '6f1c3c1e-8a53-4a55-9a3e-0b1d2f4a5b6c',
  clientId: 'rp-1',
  subject: 'alice',
  scope: ['openid'],
  acrValues: ['urn:acr:high'],
  bindingMessage: 'W4SCT',
  authorizationDetails: [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '12.00' } }],
  hintType: 'login_hint',
  deliveryMode: 'ping',
  sealedClientNotificationToken: 'v1.iv.tag.sealed',
  status: 'denied',
  createdAt: new Date('2030-01-01T00:00:00Z'),
  expiresAt: new Date('2030-01-01T00:02:00Z'),
  interval: 5,
  lastPolledAt: null,
  decidedAt: new Date('2030-01-01T00:01:00Z'),
  denialReason: 'CANCELLED',
  denialLimit: null,
  redeemedAt: null,
  notifiedAt: new Date('2030-01-01T00:00:01Z'),
  correlationId: null,
  traceContext: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  acr: null,
  amr: [],
};

describe('auth request mapper', () => {
  it('round-trips a request', () => {
    expect(toAuthRequest(fromAuthRequest(request))).toEqual(request);
  });

  it('round-trips the acr and amr of a passkey step-up', () => {
    const approved: AuthRequest = { ...request, status: 'approved', denialReason: null, acr: 'phr', amr: ['pop', 'user', 'mfa'] };
    expect(toAuthRequest(fromAuthRequest(approved))).toEqual(approved);
  });

  it('refuses an unknown status, hint type or denial reason', () => {
    expect(() => toAuthRequest({ ...fromAuthRequest(request), status: 'cancelled' })).toThrow('auth_requests.status');
    expect(() => toAuthRequest({ ...fromAuthRequest(request), hintType: 'phone' })).toThrow('auth_requests.hint_type');
    expect(() => toAuthRequest({ ...fromAuthRequest(request), denialReason: 'NOPE' })).toThrow('auth_requests.denial_reason');
  });
});
