import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseWebPushSubscription } from './web-push-subscription.js';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const p256dh = ecdh.getPublicKey().toString('base64url');
const auth = randomBytes(16).toString('base64url');
const valid = { endpoint: 'https://fcm.googleapis.com/fcm/send/abc:APA91b', expirationTime: null, keys: { p256dh, auth } };

describe('parseWebPushSubscription', () => {
  it('accepts PushSubscription.toJSON() output and keeps only endpoint and keys', () => {
    expect(parseWebPushSubscription(valid)).toEqual({ ok: true, subscription: { endpoint: valid.endpoint, keys: { p256dh, auth } } });
  });

  it('accepts padded base64url keys', () => {
    const padded = { ...valid, keys: { p256dh: `${p256dh}=`, auth: `${auth}==` } };
    expect(parseWebPushSubscription(padded).ok).toBe(true);
  });

  it.each([
    ['not an object', 'x', 'subscription must be an object'],
    ['an array', [], 'subscription must be an object'],
    ['a missing endpoint', { keys: { p256dh, auth } }, 'subscription.endpoint must be a URL'],
    ['an endpoint that is not a URL', { ...valid, endpoint: 'push service' }, 'subscription.endpoint must be a URL'],
    ['RFC 8030 §5: an http endpoint', { ...valid, endpoint: 'http://push.example/x' }, 'subscription.endpoint must be an https URL'],
    ['a javascript: endpoint', { ...valid, endpoint: 'javascript:alert(1)' }, 'subscription.endpoint must be an https URL'],
    ['an endpoint with credentials', { ...valid, endpoint: 'https://u:p@push.example/x' }, 'subscription.endpoint must not carry credentials or a fragment'],
    ['an endpoint with a fragment', { ...valid, endpoint: 'https://push.example/x#y' }, 'subscription.endpoint must not carry credentials or a fragment'],
    ['an overlong endpoint', { ...valid, endpoint: `https://push.example/${'a'.repeat(2048)}` }, 'subscription.endpoint must be a URL'],
    ['missing keys', { endpoint: valid.endpoint }, 'subscription.keys must be an object'],
    ['RFC 8291 §3.1: a compressed P-256 key', { ...valid, keys: { p256dh: ecdh.getPublicKey(undefined, 'compressed').toString('base64url'), auth } }, 'subscription.keys.p256dh must be an uncompressed P-256 public key, base64url'],
    ['a p256dh that is not base64url', { ...valid, keys: { p256dh: `${p256dh.slice(1)}+`, auth } }, 'subscription.keys.p256dh must be an uncompressed P-256 public key, base64url'],
    ['65 bytes not starting with 0x04', { ...valid, keys: { p256dh: Buffer.alloc(65, 7).toString('base64url'), auth } }, 'subscription.keys.p256dh must be an uncompressed P-256 public key, base64url'],
    ['RFC 8291 §3.2: an auth secret of 12 bytes', { ...valid, keys: { p256dh, auth: randomBytes(12).toString('base64url') } }, 'subscription.keys.auth must be 16 bytes, base64url'],
    ['a numeric auth', { ...valid, keys: { p256dh, auth: 16 } }, 'subscription.keys.auth must be 16 bytes, base64url'],
  ])('rejects %s, naming the field and never the value', (_label, input, problem) => {
    const result = parseWebPushSubscription(input);
    expect(result).toEqual({ ok: false, problem });
    expect(JSON.stringify(result)).not.toContain(p256dh);
    expect(JSON.stringify(result)).not.toContain(auth);
  });
});
