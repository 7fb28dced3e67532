import { describe, expect, it } from '@jest/globals';
import { classifyFcmResponse } from './fcm.channel.js';

const fcmError = (status: string, errorCode?: string, extra: object[] = []) => ({
  error: {
    status,
    message: 'x',
    details: [...(errorCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] : []), ...extra],
  },
});

describe('classifyFcmResponse (FCM HTTP v1 ErrorCode)', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it('404 UNREGISTERED → registration_token_invalid', () => {
    expect(classifyFcmResponse(404, fcmError('NOT_FOUND', 'UNREGISTERED'), null, now)).toEqual({ kind: 'permanent', reason: 'registration_token_invalid' });
  });
  it('400 INVALID_ARGUMENT on message.token → registration_token_invalid', () => {
    const body = fcmError('INVALID_ARGUMENT', 'INVALID_ARGUMENT', [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'message.token' }] }]);
    expect(classifyFcmResponse(400, body, null, now)).toEqual({ kind: 'permanent', reason: 'registration_token_invalid' });
  });
  it('400 INVALID_ARGUMENT elsewhere → fcm_invalid_request', () => {
    expect(classifyFcmResponse(400, fcmError('INVALID_ARGUMENT', 'INVALID_ARGUMENT'), null, now)).toEqual({ kind: 'permanent', reason: 'fcm_invalid_request' });
  });
  it('403 SENDER_ID_MISMATCH → registration_token_invalid', () => {
    expect(classifyFcmResponse(403, fcmError('PERMISSION_DENIED', 'SENDER_ID_MISMATCH'), null, now)).toEqual({ kind: 'permanent', reason: 'registration_token_invalid' });
  });
  it('401/403 → auth_rejected (the channel retries once with a fresh token)', () => {
    expect(classifyFcmResponse(401, fcmError('UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'), null, now)).toBe('auth_rejected');
    expect(classifyFcmResponse(403, fcmError('PERMISSION_DENIED'), null, now)).toBe('auth_rejected');
  });
  it('429 QUOTA_EXCEEDED and 5xx → retryable with Retry-After', () => {
    expect(classifyFcmResponse(429, fcmError('RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'), '30', now)).toEqual({ kind: 'retryable', reason: 'fcm_quota_exceeded', retryAfterMs: 30_000 });
    expect(classifyFcmResponse(503, fcmError('UNAVAILABLE', 'UNAVAILABLE'), null, now)).toEqual({ kind: 'retryable', reason: 'fcm_unavailable', retryAfterMs: null });
    expect(classifyFcmResponse(500, null, null, now)).toMatchObject({ kind: 'retryable', reason: 'fcm_unavailable' });
  });
});
