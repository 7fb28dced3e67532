import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { jwtVerify } from 'jose';
import type { ApprovalNotification } from '../src/channel.js';
import { FCM_MESSAGING_SCOPE, FcmChannel } from '../src/device-push/fcm/fcm.channel.js';
import { selfSignedCert, startHttpsPeer, type RecordedRequest } from './tls-peer.js';

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

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

const fcmError = (code: number, status: string, errorCode: string) => ({
  error: { code, status, message: 'x', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }] },
});

describe('FcmChannel against a local HTTPS OAuth token endpoint + FCM v1 API', () => {
  const tls = selfSignedCert();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'ciba-push@demo-project.iam.gserviceaccount.com';
  let peer: Awaited<ReturnType<typeof startHttpsPeer>>;
  let channel: FcmChannel;
  let tokensIssued = 0;
  let assertionErrors: string[] = [];
  /** Scripted FCM responses, consumed in order; when empty, 200. */
  let fcmScript: ((res: ServerResponse) => void)[] = [];

  async function verifyAssertion(req: RecordedRequest, key: KeyObject): Promise<void> {
    const form = new URLSearchParams(req.body.toString('utf8'));
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant_type');
    const { payload, protectedHeader } = await jwtVerify(form.get('assertion') ?? '', key, { algorithms: ['RS256'], issuer: clientEmail, subject: clientEmail, audience: `${peer.origin}/token` });
    if (protectedHeader.alg !== 'RS256') throw new Error('alg');
    if (payload.scope !== FCM_MESSAGING_SCOPE) throw new Error('scope');
    if (typeof payload.iat !== 'number' || typeof payload.exp !== 'number' || payload.exp - payload.iat > 3600) throw new Error('lifetime');
  }

  beforeAll(async () => {
    peer = await startHttpsPeer(tls, (req, res) => {
      if (req.url === '/token') {
        verifyAssertion(req, publicKey).then(
          () => json(res, 200, { access_token: `ya29.token-${++tokensIssued}`, token_type: 'Bearer', expires_in: 3599 }),
          (error: Error) => {
            assertionErrors.push(error.message);
            json(res, 400, { error: 'invalid_grant' });
          },
        );
        return;
      }
      const next = fcmScript.shift();
      if (next) return next(res);
      json(res, 200, { name: `projects/demo-project/messages/0:${peer.requests.length}` });
    });
    channel = new FcmChannel({
      projectId: 'demo-project',
      serviceAccount: { client_email: clientEmail, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), token_uri: `${peer.origin}/token` },
      apiBaseUrl: peer.origin,
      ca: tls.cert,
      timeoutMs: 5000,
    });
  });
  afterAll(async () => {
    await channel.close();
    await peer.close();
  });
  beforeEach(() => {
    fcmScript = [];
    assertionErrors = [];
  });

  const sends = () => peer.requests.filter((r) => r.url !== '/token');

  it('RFC 7523 §2.1: mints an access token with an RS256 JWT bearer assertion, caches it across sends, and posts the FCM v1 message', async () => {
    const target = { kind: 'fcm', registrationToken: 'device-registration-token-1' } as const;
    const first = await channel.send(target, notification);
    const second = await channel.send(target, notification);

    expect(assertionErrors).toEqual([]);
    expect(first).toMatchObject({ kind: 'sent', providerMessageId: expect.stringMatching(/^projects\/demo-project\/messages\//) });
    expect(second.kind).toBe('sent');
    expect(tokensIssued).toBe(1);
    expect(peer.requests.filter((r) => r.url === '/token')).toHaveLength(1);

    const req = sends().at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/projects/demo-project/messages:send');
    expect(req.headers['authorization']).toBe('Bearer ya29.token-1');
    const body = JSON.parse(req.body.toString('utf8'));
    expect(body).toEqual({
      message: {
        token: 'device-registration-token-1',
        notification: { title: 'Sign-in request from Acme Bank', body: 'W4SCT' },
        data: { url: 'https://op.example/approve/one-time-abc' },
        android: { priority: 'high', ttl: expect.stringMatching(/^\d+s$/) },
        apns: { headers: { 'apns-priority': '10' } },
        webpush: { fcm_options: { link: 'https://op.example/approve/one-time-abc' } },
      },
    });
    expect(Number(body.message.android.ttl.slice(0, -1))).toBeGreaterThan(280);
  });

  it('FCM v1 404 UNREGISTERED → permanent registration_token_invalid (caller deletes the device)', async () => {
    fcmScript = [(res) => json(res, 404, fcmError(404, 'NOT_FOUND', 'UNREGISTERED'))];
    await expect(channel.send({ kind: 'fcm', registrationToken: 'stale' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'registration_token_invalid' });
  });

  it('FCM v1 503 UNAVAILABLE with Retry-After → retryable', async () => {
    fcmScript = [(res) => json(res, 503, fcmError(503, 'UNAVAILABLE', 'UNAVAILABLE'), { 'retry-after': '12' })];
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'retryable', reason: 'fcm_unavailable', retryAfterMs: 12_000 });
  });

  it('401 drops the cached access token and retries once with a fresh one; a second 401 → permanent fcm_auth_failed', async () => {
    const before = tokensIssued;
    fcmScript = [(res) => json(res, 401, fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'))];
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toMatchObject({ kind: 'sent' });
    expect(tokensIssued).toBe(before + 1);
    expect(sends().at(-1)!.headers['authorization']).toBe(`Bearer ya29.token-${tokensIssued}`);

    fcmScript = [(res) => json(res, 401, fcmError(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR')), (res) => json(res, 403, fcmError(403, 'PERMISSION_DENIED', 'THIRD_PARTY_AUTH_ERROR'))];
    await expect(channel.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'fcm_auth_failed' });
  });

  it('RFC 7523 §3.1: a token endpoint refusing the assertion → permanent fcm_auth_failed', async () => {
    const { privateKey: wrongKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const misconfigured = new FcmChannel({
      projectId: 'demo-project',
      serviceAccount: { client_email: clientEmail, private_key: wrongKey.export({ type: 'pkcs8', format: 'pem' }).toString(), token_uri: `${peer.origin}/token` },
      apiBaseUrl: peer.origin,
      ca: tls.cert,
    });
    try {
      await expect(misconfigured.send({ kind: 'fcm', registrationToken: 't' }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'fcm_auth_failed' });
      expect(assertionErrors.length).toBeGreaterThan(0);
    } finally {
      await misconfigured.close();
    }
  });
});
