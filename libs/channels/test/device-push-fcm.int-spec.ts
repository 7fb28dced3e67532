import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { FcmPeer, fcmError } from '@ciba/testing';
import type { ApprovalNotification } from '../src/channel.js';
import { FcmChannel } from '../src/device-push/fcm/fcm.channel.js';

const notification: ApprovalNotification = {
  requestId: 'req-1',
  clientName: 'Acme Bank',
  bindingMessage: 'W4SCT',
  scope: ['openid'],
  authorizationDetails: null,
  expiresAt: new Date(Date.now() + 300_000),
  approvalUrl: 'https://op.example/approve/one-time-abc',
  recipientName: null,
};

describe('FcmChannel against a local HTTPS OAuth token endpoint + FCM v1 API', () => {
  let fcm: FcmPeer;
  let channel: FcmChannel;

  beforeAll(async () => {
    fcm = await FcmPeer.start({ projectId: 'demo-project' });
    channel = new FcmChannel({ projectId: 'demo-project', serviceAccount: fcm.serviceAccount, apiBaseUrl: fcm.origin, ca: fcm.ca, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await channel.close();
    await fcm.close();
  });
  beforeEach(() => {
    fcm.assertionErrors.splice(0);
  });

  const tokenRequests = () => fcm.requests.filter((r) => r.url === '/token');

  it('RFC 7523 §2.1: mints an access token with an RS256 JWT bearer assertion, caches it across sends, and posts the FCM v1 message', async () => {
    const target = { kind: 'fcm', registrationToken: 'device-registration-token-1' } as const;
    const first = await channel.send(target, notification);
    const second = await channel.send(target, notification);

    expect(fcm.assertionErrors).toEqual([]);
    expect(first).toMatchObject({ kind: 'sent', providerMessageId: expect.stringMatching(/^projects\/demo-project\/messages\//) });
    expect(second.kind).toBe('sent');
    expect(fcm.tokensIssued).toBe(1);
    expect(tokenRequests()).toHaveLength(1);

    const send = fcm.sends.at(-1)!;
    expect(send.request.method).toBe('POST');
    expect(send.request.url).toBe('/v1/projects/demo-project/messages:send');
    expect(send.request.headers['authorization']).toBe('Bearer ya29.token-1');
    expect(send.message).toEqual({
      token: 'device-registration-token-1',
      notification: { title: 'Sign-in request from Acme Bank', body: 'W4SCT' },
      data: { url: 'https://op.example/approve/one-time-abc' },
      android: { priority: 'high', ttl: expect.stringMatching(/^\d+s$/) },
      apns: { headers: { 'apns-priority': '10' } },
      webpush: { fcm_options: { link: 'https://op.example/approve/one-time-abc' } },
    });
    expect(Number(String((send.message['android'] as { ttl: string }).ttl).slice(0, -1))).toBeGreaterThan(280);
  });

  it('FCM v1 404 UNREGISTERED → permanent registration_token_invalid (caller deletes the device)', async () => {
    fcm.replyNext({ status: 404, body: fcmError(404, 'NOT_FOUND', 'UNREGISTERED') });
    await expect(channel.send({ kind: 'fcm', registrationToken: 'stale' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'registration_token_invalid' });
  });

  it('FCM v1 503 UNAVAILABLE with Retry-After → retryable', async () => {
    fcm.replyNext({ status: 503, body: fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE'), headers: { 'retry-after': '12' } });
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'retryable', reason: 'fcm_unavailable', retryAfterMs: 12_000 });
  });

  it('401 drops the cached access token and retries once with a fresh one; a second 401 → permanent fcm_auth_failed', async () => {
    const before = fcm.tokensIssued;
    fcm.replyNext({ status: 401, body: fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR') });
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toMatchObject({ kind: 'sent' });
    expect(fcm.tokensIssued).toBe(before + 1);
    expect(fcm.sends.at(-1)!.request.headers['authorization']).toBe(`Bearer ya29.token-${fcm.tokensIssued}`);

    fcm.replyNext({ status: 401, body: fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR') }, { status: 403, body: fcmError(403, 'PERMISSION_DENIED', 'THIRD_PARTY_AUTH_ERROR') });
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'fcm_auth_failed' });
  });

  it('RFC 7523 §3.1: a token endpoint refusing the assertion → permanent fcm_auth_failed', async () => {
    const { privateKey: wrongKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const misconfigured = new FcmChannel({
      projectId: 'demo-project',
      serviceAccount: { ...fcm.serviceAccount, private_key: wrongKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
      apiBaseUrl: fcm.origin,
      ca: fcm.ca,
    });
    try {
      await expect(misconfigured.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'fcm_auth_failed' });
      expect(fcm.assertionErrors.length).toBeGreaterThan(0);
    } finally {
      await misconfigured.close();
    }
  });

  it('fromEnv reads the service-account key file: the token_uri in it is where assertions go', async () => {
    const fromEnv = FcmChannel.fromEnv({ CIBA_FCM_PROJECT_ID: 'demo-project', CIBA_FCM_SERVICE_ACCOUNT_FILE: fcm.serviceAccountFile }, { apiBaseUrl: fcm.origin, ca: fcm.ca });
    try {
      await expect(fromEnv.send({ kind: 'fcm', registrationToken: 'from-env' }, notification)).resolves.toMatchObject({ kind: 'sent' });
      expect((await fcm.messageTo('from-env')).message['token']).toBe('from-env');
    } finally {
      await fromEnv.close();
    }
  });
});
