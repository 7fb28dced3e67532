import { describe, expect, it } from '@jest/globals';
import { classifyWebPushResponse, WebPushChannel } from './web-push.channel.js';

const keys = WebPushChannel.generateVapidKeys();
const options = { vapidSubject: 'mailto:ops@op.example', vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey };

describe('WebPushChannel', () => {
  it('accepts only web-push targets', () => {
    const channel = new WebPushChannel(options);
    expect(channel.kind).toBe('device-push');
    expect(channel.vendor).toBe('web-push');
    expect(channel.accepts({ kind: 'web-push', subscription: { endpoint: 'https://push.example/x', keys: { p256dh: 'a', auth: 'b' } } })).toBe(true);
    expect(channel.accepts({ kind: 'fcm', registrationToken: 't' })).toBe(false);
  });

  it('RFC 8292 §3.2: exposes the VAPID public key browsers subscribe with (applicationServerKey)', () => {
    expect(new WebPushChannel(options).vapidPublicKey).toBe(keys.publicKey);
  });

  it('rejects a bad VAPID subject (RFC 8292 §2.1)', () => {
    expect(() => new WebPushChannel({ ...options, vapidSubject: 'http://op.example' })).toThrow(/vapidSubject/);
  });

  it('fromEnv names missing variables and never echoes the private key', () => {
    expect(() => WebPushChannel.fromEnv({ CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example' })).toThrow(
      /CIBA_WEB_PUSH_VAPID_PUBLIC_KEY, CIBA_WEB_PUSH_VAPID_PRIVATE_KEY/,
    );
    const badPrivate = 'not-a-valid-key-but-secret-material';
    let message = '';
    try {
      WebPushChannel.fromEnv({ CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example', CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: keys.publicKey, CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: badPrivate });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CIBA_WEB_PUSH_VAPID_PRIVATE_KEY');
    expect(message).not.toContain(badPrivate);
    expect(
      WebPushChannel.fromEnv({ CIBA_WEB_PUSH_VAPID_SUBJECT: 'https://op.example', CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: keys.publicKey, CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: keys.privateKey }),
    ).toBeInstanceOf(WebPushChannel);
  });

  it('refuses other targets and malformed subscriptions without a network call', async () => {
    const channel = new WebPushChannel(options);
    const n = { requestId: 'r', clientName: 'c', bindingMessage: null, scope: [], authorizationDetails: null, expiresAt: new Date(), approvalUrl: 'https://op/a', recipientName: null };
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, n)).resolves.toEqual({ kind: 'permanent', reason: 'unsupported_target' });
    await expect(channel.send({ kind: 'web-push', subscription: { endpoint: 'http://push.example/x', keys: { p256dh: 'a', auth: 'b' } } }, n)).resolves.toEqual({
      kind: 'permanent',
      reason: 'subscription_invalid',
    });
  });
});

describe('classifyWebPushResponse (RFC 8030 §5, §8.4)', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it.each([
    [404, 'subscription_gone'],
    [410, 'subscription_gone'],
    [413, 'payload_too_large'],
    [400, 'push_request_rejected'],
    [401, 'vapid_rejected'],
    [403, 'vapid_rejected'],
  ])('%i is permanent %s', (status, reason) => {
    expect(classifyWebPushResponse(status, null, now)).toEqual({ kind: 'permanent', reason });
  });
  it.each([429, 500, 502, 503])('%i is retryable and honours Retry-After', (status) => {
    expect(classifyWebPushResponse(status, '7', now)).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
  });
});
