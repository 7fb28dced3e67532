import { type AuthRequest, acceptedLifecycle } from '../src/auth-request/auth-request.js';

export const T0 = new Date('2026-01-01T00:00:00Z');
/** `seconds` after T0. */
export const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

/** A pending poll-mode request for alice, created at T0, expiring 60 s later. */
export function pendingRequest(overrides: Partial<AuthRequest> = {}): AuthRequest {
  return {
    id: '0b9f6c3e-1111-4a4a-9999-000000000001',
    clientId: 'c1',
    subject: 'alice',
    scope: ['openid'],
    acrValues: [],
    bindingMessage: null,
    authorizationDetails: null,
    hintType: 'login_hint',
    deliveryMode: 'poll',
    sealedClientNotificationToken: null,
    createdAt: T0,
    expiresAt: at(60),
    interval: 5,
    correlationId: null,
    traceContext: null,
    ...acceptedLifecycle(),
    ...overrides,
  };
}
