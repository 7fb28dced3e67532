import { describe, expect, it } from '@jest/globals';
import { DEFAULT_PUSH_SERVICE_HOSTS, classifyWebPushResponse, isAllowedPushEndpoint, WebPushChannel } from './web-push.channel.js';

const keys = WebPushChannel.generateVapidKeys();
const options = { vapidSubject: 'mailto:ops@op.example', vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey };

describe('WebPushChannel', () => {
  it('accepts only web-push targets', () => {
    const channel = new WebPushChannel(options);
    expect(channel.kind).toBe('device-push');
    expect(channel.vendor).toBe('web-push');
    expect(channel.accepts({ kind: 'web-push', subscription: { endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: { p256dh: 'a', auth: 'b' } } })).toBe(true);
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

describe('allowed push services (the notifier POSTs to a URL the browser chose: SSRF guard)', () => {
  it('allows the browsers\' push services by default, on port 443', () => {
    for (const endpoint of [
      'https://fcm.googleapis.com/fcm/send/abc',
      'https://updates.push.services.mozilla.com/wpush/v2/abc',
      'https://web.push.apple.com/QGuQ',
      'https://wns2-par02p.notify.windows.com/w/?token=abc',
    ]) {
      expect(isAllowedPushEndpoint(endpoint, DEFAULT_PUSH_SERVICE_HOSTS)).toBe(true);
    }
  });

  it('refuses other hosts, look-alikes, other ports and plain http', () => {
    for (const endpoint of [
      'https://169.254.169.254/latest/meta-data',
      'https://127.0.0.1/push',
      'https://fcm.googleapis.com.evil.example/x',
      'https://evilpush.apple.com/x',
      'https://fcm.googleapis.com:8443/fcm/send/abc',
      'http://fcm.googleapis.com/fcm/send/abc',
      'not a url',
    ]) {
      expect(isAllowedPushEndpoint(endpoint, DEFAULT_PUSH_SERVICE_HOSTS)).toBe(false);
    }
  });

  it('takes host:port entries, and CIBA_WEB_PUSH_ALLOWED_HOSTS replaces the default list', () => {
    expect(isAllowedPushEndpoint('https://127.0.0.1:8443/push/1', ['127.0.0.1:8443'])).toBe(true);
    expect(isAllowedPushEndpoint('https://127.0.0.1:8444/push/1', ['127.0.0.1:8443'])).toBe(false);
    const env = { CIBA_WEB_PUSH_VAPID_SUBJECT: 'mailto:ops@op.example', CIBA_WEB_PUSH_VAPID_PUBLIC_KEY: keys.publicKey, CIBA_WEB_PUSH_VAPID_PRIVATE_KEY: keys.privateKey };
    const target = (endpoint: string) => ({ kind: 'web-push' as const, subscription: { endpoint, keys: { p256dh: 'a', auth: 'b' } } });
    const onlyLocal = WebPushChannel.fromEnv({ ...env, CIBA_WEB_PUSH_ALLOWED_HOSTS: 'push.internal.example, 127.0.0.1:8443' });
    expect(onlyLocal.accepts(target('https://push.internal.example/x'))).toBe(true);
    expect(onlyLocal.accepts(target('https://fcm.googleapis.com/fcm/send/abc'))).toBe(false);
    expect(() => WebPushChannel.fromEnv({ ...env, CIBA_WEB_PUSH_ALLOWED_HOSTS: 'https://push.example/' })).toThrow(/CIBA_WEB_PUSH_ALLOWED_HOSTS/);
  });
});
