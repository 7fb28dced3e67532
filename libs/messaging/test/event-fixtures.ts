import type { AuthRequestCreated } from '@ciba/domain';

let sequence = 0;

/** A well-formed `auth_request.created` event with a fresh request id (`<idPrefix>-req-<n>`). */
export function createdEvent(overrides: Partial<AuthRequestCreated> = {}, idPrefix = 'test'): AuthRequestCreated {
  const requestId = `${idPrefix}-req-${++sequence}`;
  return {
    type: 'auth_request.created',
    version: 1,
    eventId: `${requestId}:auth_request.created`,
    requestId,
    clientId: 'client-a',
    subject: 'user-1',
    occurredAt: new Date().toISOString(),
    correlationId: `corr-${requestId}`,
    deliveryMode: 'poll',
    scope: ['openid'],
    hintType: 'login_hint',
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    interval: 5,
    hasBindingMessage: false,
    ...overrides,
  };
}
