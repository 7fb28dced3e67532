import type { WebPushSubscription } from '../../channel.js';

/** Push services' endpoints are long opaque URLs (FCM ~ 200 characters); anything near this is not one. */
export const MAX_ENDPOINT_LENGTH = 2048;

export type SubscriptionCheck = { readonly ok: true; readonly subscription: WebPushSubscription } | { readonly ok: false; readonly problem: string };

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

/** base64url (PushSubscription.toJSON() leaves the padding off; some libraries keep it) decoding to exactly `bytes` bytes. */
function base64UrlOf(value: unknown, bytes: number): Buffer | null {
  if (typeof value !== 'string' || !BASE64URL.test(value)) return null;
  const decoded = Buffer.from(value, 'base64url');
  return decoded.length === bytes ? decoded : null;
}

/**
 * A browser's push subscription (`PushSubscription.toJSON()`) as this provider accepts it: an
 * `https:` endpoint without credentials or fragment (RFC 8030 §5), a P-256 public key in
 * uncompressed form (65 bytes, 0x04 first; RFC 8291 §3.1) and a 16-byte auth secret (RFC 8291 §3.2).
 * Problems name the field, never its value: the whole subscription is a credential.
 */
export function parseWebPushSubscription(input: unknown): SubscriptionCheck {
  const fail = (problem: string): SubscriptionCheck => ({ ok: false, problem });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return fail('subscription must be an object');
  const { endpoint, keys } = input as Record<string, unknown>;
  if (typeof endpoint !== 'string' || endpoint.length > MAX_ENDPOINT_LENGTH) return fail('subscription.endpoint must be a URL');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return fail('subscription.endpoint must be a URL');
  }
  if (url.protocol !== 'https:') return fail('subscription.endpoint must be an https URL');
  if (url.username !== '' || url.password !== '' || url.hash !== '') return fail('subscription.endpoint must not carry credentials or a fragment');
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) return fail('subscription.keys must be an object');
  const { p256dh, auth } = keys as Record<string, unknown>;
  const publicKey = base64UrlOf(p256dh, 65);
  if (!publicKey || publicKey[0] !== 0x04) return fail('subscription.keys.p256dh must be an uncompressed P-256 public key, base64url');
  if (!base64UrlOf(auth, 16)) return fail('subscription.keys.auth must be 16 bytes, base64url');
  return { ok: true, subscription: { endpoint, keys: { p256dh: p256dh as string, auth: auth as string } } };
}
