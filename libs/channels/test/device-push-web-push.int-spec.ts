import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { Agent } from 'node:https';
import ece from 'http_ece';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import type { ApprovalNotification, WebPushSubscription } from '../src/channel.js';
import { WebPushChannel } from '../src/device-push/web-push/web-push.channel.js';
import { selfSignedCert, startHttpsPeer, type RecordedRequest, type Responder } from './tls-peer.js';

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

/** What a browser holds after PushManager.subscribe(): an ECDH P-256 key pair and a 16-byte auth secret. */
function browserSubscription(endpoint: string): { subscription: WebPushSubscription; ecdh: ECDH; authSecret: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return {
    subscription: { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') } },
    ecdh,
    authSecret,
  };
}

describe('WebPushChannel against a local HTTPS push service', () => {
  const tls = selfSignedCert();
  const vapid = WebPushChannel.generateVapidKeys();
  let respond: Responder = (_req, res) => res.writeHead(201).end();
  let peer: Awaited<ReturnType<typeof startHttpsPeer>>;
  let agent: Agent;
  let channel: WebPushChannel;

  beforeAll(async () => {
    peer = await startHttpsPeer(tls, (req, res) => respond(req, res));
    agent = new Agent({ ca: tls.cert, keepAlive: false });
    channel = new WebPushChannel({ vapidSubject: 'mailto:ops@op.example', vapidPublicKey: vapid.publicKey, vapidPrivateKey: vapid.privateKey, agent, timeoutMs: 5000 });
  });
  afterAll(async () => {
    agent.destroy();
    await peer.close();
  });

  const lastRequest = (): RecordedRequest => peer.requests[peer.requests.length - 1];

  it('RFC 8030 §5 / RFC 8291 / RFC 8292 §2: POSTs an aes128gcm message with a VAPID JWT the push service can verify, and the browser can decrypt', async () => {
    respond = (_req, res) => res.writeHead(201, { location: `${peer.origin}/message/m-42` }).end();
    const { subscription, ecdh, authSecret } = browserSubscription(`${peer.origin}/push/sub-1`);

    const outcome = await channel.send({ kind: 'web-push', subscription }, notification);

    expect(outcome).toEqual({ kind: 'sent', providerMessageId: `${peer.origin}/message/m-42` });
    const req = lastRequest();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/push/sub-1');
    // RFC 8030 §5.2 / §5.3: TTL is bounded by the request's expiry; an approval is urgent.
    const ttl = Number(req.headers['ttl']);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(req.headers['urgency']).toBe('high');
    expect(req.headers['content-encoding']).toBe('aes128gcm');

    // RFC 8292 §2–3: Authorization: vapid t=<JWT>, k=<server public key>
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(String(req.headers['authorization']));
    expect(match).not.toBeNull();
    const [, jwt, k] = match!;
    expect(k).toBe(vapid.publicKey);
    expect(decodeProtectedHeader(jwt).alg).toBe('ES256');
    const point = Buffer.from(k, 'base64url');
    const publicKey = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, 'ES256');
    const { payload: claims } = await jwtVerify(jwt, publicKey, { audience: peer.origin, subject: 'mailto:ops@op.example' });
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(24 * 3600); // RFC 8292 §2: at most 24 h

    // RFC 8291 §4: decrypt as the browser would.
    const plaintext = ece.decrypt(req.body, { version: 'aes128gcm', privateKey: ecdh, authSecret });
    const payload = JSON.parse(plaintext.toString('utf8'));
    expect(payload).toEqual({ title: 'Sign-in request from Acme Bank', body: 'W4SCT', url: 'https://op.example/approve/one-time-abc' });
    expect(plaintext.toString('utf8')).not.toContain('payments');
  });

  it('RFC 8030 §7.3: 410 Gone → permanent subscription_gone (caller deletes the registration)', async () => {
    respond = (_req, res) => res.writeHead(410).end();
    const { subscription } = browserSubscription(`${peer.origin}/push/gone`);
    await expect(channel.send({ kind: 'web-push', subscription }, notification)).resolves.toEqual({ kind: 'permanent', reason: 'subscription_gone' });
  });

  it('RFC 8030 §8.4: 429 with Retry-After → retryable with the delay', async () => {
    respond = (_req, res) => res.writeHead(429, { 'retry-after': '30' }).end();
    const { subscription } = browserSubscription(`${peer.origin}/push/busy`);
    await expect(channel.send({ kind: 'web-push', subscription }, notification)).resolves.toEqual({
      kind: 'retryable',
      reason: 'push_service_rate_limited',
      retryAfterMs: 30_000,
    });
  });

  it('RFC 8030 §5.2: TTL 0 once the request has expired', async () => {
    respond = (_req, res) => res.writeHead(201).end();
    const { subscription } = browserSubscription(`${peer.origin}/push/late`);
    await expect(channel.send({ kind: 'web-push', subscription }, { ...notification, expiresAt: new Date(Date.now() - 1000) })).resolves.toEqual({
      kind: 'sent',
      providerMessageId: null,
    });
    expect(lastRequest().headers['ttl']).toBe('0');
  });

  it('network failure → retryable network_error', async () => {
    const { subscription } = browserSubscription('https://127.0.0.1:1/push/nobody');
    await expect(channel.send({ kind: 'web-push', subscription }, notification)).resolves.toEqual({ kind: 'retryable', reason: 'network_error', retryAfterMs: null });
  });
});
