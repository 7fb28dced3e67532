import { describe, expect, it } from '@jest/globals';
import type { AuthRequestCreated, LifecycleEvent } from '@ciba/domain';
import { MalformedMessage } from './errors.js';
import { decodeLifecycleEvent, encodeLifecycleEvent, parseLifecycleEvent } from './lifecycle-event.schema.js';

const created: AuthRequestCreated = {
  type: 'auth_request.created',
  version: 1,
  eventId: 'req-1:auth_request.created',
  requestId: 'req-1',
  clientId: 'client-a',
  subject: 'user-1',
  occurredAt: '2025-01-01T00:00:00.000Z',
  correlationId: 'corr-1',
  deliveryMode: 'ping',
  scope: ['openid'],
  hintType: 'login_hint',
  expiresAt: '2025-01-01T00:05:00.000Z',
  interval: 5,
  hasBindingMessage: true,
};

function malformed(value: unknown): string {
  try {
    parseLifecycleEvent(value);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedMessage);
    return (error as Error).message;
  }
  throw new Error('expected MalformedMessage');
}

describe('parseLifecycleEvent', () => {
  it('accepts every valid event shape, from a value or JSON text', () => {
    const base = { ...created } as Record<string, unknown>;
    for (const key of ['deliveryMode', 'scope', 'hintType', 'expiresAt', 'interval', 'hasBindingMessage']) delete base[key];
    const events: LifecycleEvent[] = [
      created,
      { ...created, correlationId: null, interval: null },
      { ...created, authorizationDetailsTypes: ['payment_initiation'] },
      { ...base, type: 'auth_request.device_notified', channel: 'device-push' } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.approved' } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.approved', acr: 'phr', amr: ['pop', 'user', 'mfa'] } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.denied', reason: 'UNAUTHORIZED' } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.denied', reason: 'RATE_LIMITED', limit: 'denial_backoff' } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.expired' } as unknown as LifecycleEvent,
      { ...base, type: 'auth_request.redeemed', tokens: ['access_token', 'id_token'] } as unknown as LifecycleEvent,
    ];
    for (const event of events) {
      expect(parseLifecycleEvent(event)).toEqual(event);
      expect(parseLifecycleEvent(JSON.stringify(event))).toEqual(event);
      expect(decodeLifecycleEvent(encodeLifecycleEvent(event))).toEqual(event);
    }
  });

  it('rejects what is not a version-1 lifecycle event', () => {
    expect(malformed('{not json')).toBe('message is not valid JSON');
    expect(malformed({ ...created, type: 7 })).toBe('unknown lifecycle event type 7');
    expect(malformed(null)).toBe('lifecycle event must be a JSON object');
    expect(malformed([created])).toBe('lifecycle event must be a JSON object');
    expect(malformed({ ...created, type: 'auth_request.exploded' })).toBe('unknown lifecycle event type "auth_request.exploded"');
    expect(malformed({ ...created, version: 2 })).toBe('unsupported lifecycle event version 2');
    expect(malformed({ ...created, eventId: undefined })).toBe('auth_request.created: eventId must be a non-empty string');
    expect(malformed({ ...created, clientId: 42 })).toBe('auth_request.created: clientId must be a non-empty string');
    expect(malformed({ ...created, correlationId: undefined })).toBe('correlationId must be a string or null');
    expect(malformed({ ...created, deliveryMode: 'carrier-pigeon' })).toMatch(/deliveryMode must be poll, ping or push/);
    expect(malformed({ ...created, scope: 'openid' })).toMatch(/scope must be an array of strings/);
    expect(malformed({ ...created, type: 'auth_request.denied', reason: 'BORED' })).toMatch(/reason must be/);
    expect(malformed({ ...created, type: 'auth_request.denied', reason: 'RATE_LIMITED', limit: 'per_user' })).toMatch(/limit must be client_user, client, denial_backoff when present/);
    expect(malformed({ ...created, type: 'auth_request.device_notified' })).toMatch(/channel must be/);
    expect(malformed({ ...created, type: 'auth_request.redeemed', tokens: [1] })).toMatch(/tokens must be/);
    expect(malformed({ ...created, authorizationDetailsTypes: [{ type: 'payment_initiation' }] })).toMatch(/authorizationDetailsTypes must be/);
  });
});

describe('callback outcome events', () => {
  const base = {
    version: 1,
    eventId: 'r1:auth_request.client_notification_failed',
    requestId: 'r1',
    clientId: 'c1',
    subject: 'alice',
    occurredAt: '2026-01-01T00:00:00.000Z',
    correlationId: null,
  };

  it('an approval after step-up carries acr as a string and amr as strings', () => {
    const base = { ...created, type: 'auth_request.approved' } as Record<string, unknown>;
    expect(malformed({ ...base, acr: 7 })).toMatch(/acr/);
    expect(malformed({ ...base, acr: 'phr', amr: 'pop' })).toMatch(/amr/);
  });

  it('audit evidence record: accepts the optional evidence fields and refuses malformed ones', () => {
    const evidence = { ...created, issuer: 'https://op.example', backchannelEndpoint: 'https://op.example/bc-authorize', userHintHash: 'h', acrValues: ['a'], bindingMessage: 'Approve 42' };
    expect(parseLifecycleEvent(evidence)).toEqual(evidence);
    expect(parseLifecycleEvent({ ...evidence, bindingMessage: null })).toEqual({ ...evidence, bindingMessage: null });
    expect(malformed({ ...evidence, userHintHash: 7 })).toMatch(/userHintHash/);
    expect(malformed({ ...evidence, issuer: '' })).toMatch(/issuer/);
    expect(malformed({ ...evidence, acrValues: 'a' })).toMatch(/acrValues/);
    expect(malformed({ ...evidence, bindingMessage: { text: 'x' } })).toMatch(/bindingMessage/);
    const notified = { ...base, type: 'auth_request.device_notified', channel: 'sms', tried: [{ channel: 'email', outcome: 'retryable' }] };
    expect(parseLifecycleEvent(notified)).toEqual(notified);
    expect(malformed({ ...notified, tried: [{ channel: 'email' }] })).toMatch(/tried/);
    expect(malformed({ ...notified, tried: 'email' })).toMatch(/tried/);
    const callback = { ...base, type: 'auth_request.client_notified', mode: 'ping', trigger: 'approved', attempts: 2, status: 204 };
    expect(parseLifecycleEvent(callback)).toEqual(callback);
    expect(parseLifecycleEvent({ ...callback, status: null })).toEqual({ ...callback, status: null });
    expect(malformed({ ...callback, status: '204' })).toMatch(/status/);
  });

  it('audit evidence record: a callback attempt carries its number, outcome, status and reason', () => {
    const attempt = { ...base, type: 'auth_request.client_notification_attempted', mode: 'push', trigger: 'approved', attempt: 2, outcome: 'retry', status: 503, reason: 'server_error/503' };
    expect(parseLifecycleEvent(attempt)).toEqual(attempt);
    expect(parseLifecycleEvent({ ...attempt, status: null, outcome: 'failed' })).toEqual({ ...attempt, status: null, outcome: 'failed' });
    expect(malformed({ ...attempt, attempt: 0 })).toMatch(/attempt/);
    expect(malformed({ ...attempt, outcome: 'ok' })).toMatch(/outcome/);
    expect(malformed({ ...attempt, status: '503' })).toMatch(/status/);
    expect(malformed({ ...attempt, reason: 5 })).toMatch(/reason/);
  });

  it('accepts a well-formed client_notification_failed event and requires its reason', () => {
    const event = { ...base, type: 'auth_request.client_notification_failed', mode: 'push', trigger: 'approved', attempts: 1, reason: 'unauthorized/401' };
    expect(parseLifecycleEvent(event)).toEqual(event);
    const { reason: _reason, ...withoutReason } = event;
    expect(() => parseLifecycleEvent(withoutReason)).toThrow(MalformedMessage);
  });

  it('refuses an unknown mode or trigger', () => {
    const event = { ...base, type: 'auth_request.client_notified', mode: 'carrier-pigeon', trigger: 'approved', attempts: 1 };
    expect(() => parseLifecycleEvent(event)).toThrow(MalformedMessage);
    expect(() => parseLifecycleEvent({ ...event, mode: 'ping', trigger: 'whenever' })).toThrow(MalformedMessage);
  });
});

describe('device events', () => {
  const registered = {
    type: 'device.registered',
    version: 1,
    eventId: 'd1:device.registered',
    deviceId: 'd1',
    subject: 'alice',
    clientId: 'console',
    occurredAt: '2026-01-01T00:00:00.000Z',
    correlationId: null,
    kind: 'fcm',
    label: 'Work phone',
    via: 'client',
    expiresAt: '2026-04-01T00:00:00.000Z',
  };
  const revoked = { ...registered, type: 'device.revoked', eventId: 'd1:device.revoked', clientId: null, via: 'removal_link', reason: 'revoked', expiresAt: undefined };

  it('accepts a registration (by a client or an enrolment link) and a revocation: a device, no request', () => {
    for (const event of [registered, { ...registered, via: 'enrolment_link', clientId: null, label: null }, revoked, { ...revoked, via: 'provider', reason: 'gone' }]) {
      expect(parseLifecycleEvent(JSON.stringify(event))).toEqual(JSON.parse(JSON.stringify(event)));
    }
  });

  it('refuses a device event without its device, with a client that contradicts how it was authorised, or an unknown kind, via or reason', () => {
    const { deviceId: _deviceId, ...noDevice } = registered;
    expect(malformed(noDevice)).toBe('device.registered: deviceId must be a non-empty string');
    expect(malformed({ ...registered, clientId: null })).toMatch(/clientId must be set exactly when via is client/);
    expect(malformed({ ...registered, via: 'enrolment_link' })).toMatch(/clientId must be set exactly when via is client/);
    expect(malformed({ ...registered, kind: 'apns' })).toMatch(/kind must be web-push or fcm/);
    expect(malformed({ ...registered, via: 'anyone' })).toMatch(/via must be enrolment_link or client/);
    expect(malformed({ ...revoked, reason: 'bored' })).toMatch(/reason must be/);
    expect(malformed({ ...revoked, via: 'client' })).toMatch(/clientId must be set exactly when via is client/);
  });
});
