import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:https';
import { type BrowserSubscription, WebPushReceiver } from '@ciba/testing';
import type { ApprovalNotification } from '../src/channel.js';
import { WebPushChannel } from '../src/device-push/web-push/web-push.channel.js';

const notification: ApprovalNotification = {
  requestId: 'req-1',
  clientName: 'Acme Bank',
  bindingMessage: 'W4SCT',
  scope: ['openid', 'payments'],
  authorizationDetails: null,
  expiresAt: new Date(Date.now() + 120_000),
  approvalUrl: 'https://op.example/approve/one-time-abc',
  recipientName: 'Alice',
};

describe('WebPushChannel against a local HTTPS push service', () => {
  const vapid = WebPushChannel.generateVapidKeys();
  let pushService: WebPushReceiver;
  let agent: Agent;
  let channel: WebPushChannel;

  beforeAll(async () => {
    pushService = await WebPushReceiver.start();
    agent = new Agent({ ca: pushService.ca, keepAlive: false });
    channel = new WebPushChannel({
      vapidSubject: 'mailto:ops@op.example',
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      agent,
      timeoutMs: 5000,
      allowedEndpointHosts: [new URL(pushService.origin).host, '127.0.0.1:1'],
    });
  });
  afterAll(async () => {
    agent.destroy();
    await pushService.close();
  });
  beforeEach(() => pushService.reply(() => undefined));

  const target = (subscription: BrowserSubscription) => ({ kind: 'web-push', subscription }) as const;

  it('RFC 8030 §5 / RFC 8291 / RFC 8292 §2: POSTs an aes128gcm message with a VAPID JWT the push service can verify, and the browser can decrypt', async () => {
    pushService.reply(() => ({ status: 201, headers: { location: `${pushService.origin}/message/m-42` } }));
    const subscription = pushService.subscribe(vapid.publicKey);

    const outcome = await channel.send(target(subscription), notification);

    expect(outcome).toEqual({ kind: 'sent', providerMessageId: `${pushService.origin}/message/m-42` });
    const push = await pushService.pushTo(subscription);
    expect(push.problem).toBeNull();
    expect(push.request.method).toBe('POST');
    expect(push.endpoint).toBe(subscription.endpoint);
    // RFC 8030 §5.2 / §5.3: TTL is bounded by the request's expiry; an approval is urgent.
    const ttl = Number(push.request.headers['ttl']);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(push.request.headers['urgency']).toBe('high');

    // RFC 8292 §2–3: the push service verified `vapid t=<JWT>, k=<key>` (ES256, audience its origin, at most 24 h).
    expect(push.vapid).toEqual({ subject: 'mailto:ops@op.example', publicKey: vapid.publicKey, expiresAt: expect.any(Number) });

    // RFC 8291 §4: decrypted as the browser would.
    expect(push.payload).toEqual({ title: 'Sign-in request from Acme Bank', body: 'W4SCT', url: 'https://op.example/approve/one-time-abc' });
    expect(push.plaintext).not.toContain('payments');
  });

  it('RFC 8292 §4.2: a subscription restricted to another application server key is refused (403) → permanent vapid_rejected', async () => {
    const subscription = pushService.subscribe(WebPushChannel.generateVapidKeys().publicKey);
    await expect(channel.send(target(subscription), notification)).resolves.toEqual({ kind: 'permanent', reason: 'vapid_rejected' });
    expect(pushService.received.at(-1)).toMatchObject({ status: 403, endpoint: subscription.endpoint });
  });

  it('RFC 8030 §7.3: 410 Gone → permanent subscription_gone (caller deletes the registration)', async () => {
    pushService.reply(() => ({ status: 410 }));
    await expect(channel.send(target(pushService.subscribe()), notification)).resolves.toEqual({ kind: 'permanent', reason: 'subscription_gone' });
  });

  it('RFC 8030 §8.4: 429 with Retry-After → retryable with the delay', async () => {
    pushService.reply(() => ({ status: 429, headers: { 'retry-after': '30' } }));
    await expect(channel.send(target(pushService.subscribe()), notification)).resolves.toEqual({
      kind: 'retryable',
      reason: 'push_service_rate_limited',
      retryAfterMs: 30_000,
    });
  });

  it('RFC 8030 §5.2: TTL 0 once the request has expired', async () => {
    pushService.reply(() => ({ status: 201 }));
    const subscription = pushService.subscribe();
    await expect(channel.send(target(subscription), { ...notification, expiresAt: new Date(Date.now() - 1000) })).resolves.toEqual({
      kind: 'sent',
      providerMessageId: null,
    });
    expect((await pushService.pushTo(subscription)).request.headers['ttl']).toBe('0');
  });

  it('refuses a subscription whose endpoint is not an allowed push service, without contacting it (SSRF)', async () => {
    const elsewhere = { ...pushService.subscribe(), endpoint: 'https://169.254.169.254:443/latest/meta-data' };
    const before = pushService.received.length;
    expect(channel.accepts(target(elsewhere))).toBe(false);
    await expect(channel.send(target(elsewhere), notification)).resolves.toEqual({ kind: 'permanent', reason: 'endpoint_not_allowed' });
    expect(pushService.received).toHaveLength(before);
  });

  it('network failure → retryable network_error', async () => {
    const subscription = { ...pushService.subscribe(), endpoint: 'https://127.0.0.1:1/push/nobody' };
    await expect(channel.send(target(subscription), notification)).resolves.toEqual({ kind: 'retryable', reason: 'network_error', retryAfterMs: null });
  });
});
