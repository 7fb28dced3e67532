import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { isDeviceId, parseDeviceRegistration, parseEnrolmentSubmission, parseLabel } from './device-request.js';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const subscription = { endpoint: 'https://push.example.net/send/abc', expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
const fcmToken = `dXyz0123456789_-:APA91b${'A'.repeat(120)}`;

describe('parseDeviceRegistration (POST /ext/ciba/devices)', () => {
  it('accepts an FCM registration token with a label', () => {
    expect(parseDeviceRegistration({ kind: 'fcm', registration_token: fcmToken, label: ' Work  phone ' })).toEqual({
      ok: true,
      value: { target: { kind: 'fcm', registrationToken: fcmToken }, label: 'Work phone', idTokenHint: null },
    });
  });

  it('accepts a Web Push subscription with an id_token_hint, keeping only endpoint and keys', () => {
    expect(parseDeviceRegistration({ kind: 'web-push', subscription, id_token_hint: 'eyJ.x.y' })).toEqual({
      ok: true,
      value: { target: { kind: 'web-push', subscription: { endpoint: subscription.endpoint, keys: subscription.keys } }, label: null, idTokenHint: 'eyJ.x.y' },
    });
  });

  it.each([
    ['a body that is not an object', ['fcm'], 'the body must be a JSON object'],
    ['an unknown kind', { kind: 'apns', registration_token: fcmToken }, 'kind must be "fcm" or "web-push"'],
    ['a missing kind', { registration_token: fcmToken }, 'kind must be "fcm" or "web-push"'],
    ['a missing registration_token', { kind: 'fcm' }, 'registration_token must be an FCM registration token'],
    ['a registration_token with spaces', { kind: 'fcm', registration_token: `${fcmToken} x` }, 'registration_token must be an FCM registration token'],
    ['a web-push kind without subscription', { kind: 'web-push' }, 'subscription must be an object'],
    ['an http push endpoint', { kind: 'web-push', subscription: { ...subscription, endpoint: 'http://push.example.net/x' } }, 'subscription.endpoint must be an https URL'],
    ['a label that is not a string', { kind: 'fcm', registration_token: fcmToken, label: 7 }, 'label must be a string'],
    ['an id_token_hint that is not a string', { kind: 'fcm', registration_token: fcmToken, id_token_hint: {} }, 'id_token_hint must be a string'],
  ])('refuses %s', (_label, body, problem) => {
    expect(parseDeviceRegistration(body)).toEqual({ ok: false, problem });
  });

  it('never echoes the registration token or the keys in a problem', () => {
    const result = parseDeviceRegistration({ kind: 'fcm', registration_token: `${fcmToken}!` });
    expect(JSON.stringify(result)).not.toContain(fcmToken);
  });
});

describe('parseEnrolmentSubmission (the enrolment page POST)', () => {
  it('accepts PushSubscription.toJSON() and an optional label', () => {
    expect(parseEnrolmentSubmission({ subscription, label: '' })).toEqual({
      ok: true,
      value: { target: { kind: 'web-push', subscription: { endpoint: subscription.endpoint, keys: subscription.keys } }, label: null },
    });
  });

  it('refuses a subscription with a short auth secret (RFC 8291 §3.2)', () => {
    expect(parseEnrolmentSubmission({ subscription: { ...subscription, keys: { ...subscription.keys, auth: 'AAAA' } } })).toEqual({
      ok: false,
      problem: 'subscription.keys.auth must be 16 bytes, base64url',
    });
  });
});

describe('parseLabel', () => {
  it('flattens control characters and collapses whitespace; blank is none', () => {
    expect(parseLabel('Phone\r\n\u202eevil\t2')).toEqual({ ok: true, value: 'Phone evil 2' });
    expect(parseLabel('   ')).toEqual({ ok: true, value: null });
    expect(parseLabel(undefined)).toEqual({ ok: true, value: null });
  });

  it('allows 64 characters (counting code points), refuses 65', () => {
    expect(parseLabel('😀'.repeat(64))).toEqual({ ok: true, value: '😀'.repeat(64) });
    expect(parseLabel('x'.repeat(65))).toEqual({ ok: false, problem: 'label must be at most 64 characters' });
  });
});

describe('isDeviceId', () => {
  it('accepts lowercase UUIDs only', () => {
    expect(isDeviceId('0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70')).toBe(true);
    expect(isDeviceId('not-a-uuid')).toBe(false);
    expect(isDeviceId("0b7c3f7e-5a1d-4c2b-9f1e-2d3c4b5a6f70' OR 1=1")).toBe(false);
  });
});
