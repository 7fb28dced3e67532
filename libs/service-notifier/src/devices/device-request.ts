import { parseWebPushSubscription } from '@ciba/channels';
import type { DeviceTarget } from '@ciba/domain';

/**
 * The shapes of device registration requests, checked before anything is looked up or consumed.
 * Problems name the field and never echo a value: targets and tokens are credentials.
 */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export const MAX_LABEL_CHARS = 64;
/** FCM registration tokens are opaque, about 150–250 characters of base64url plus ':' and '.'. */
const FCM_TOKEN_SHAPE = /^[A-Za-z0-9_:.-]{16,4096}$/;
const DEVICE_ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Enrolment and removal link tokens: 32 random bytes, base64url. Anything else is not worth a lookup. */
const LINK_TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface DeviceRegistrationRequest {
  readonly target: DeviceTarget;
  /** What the caller named the device; null to derive one. */
  readonly label: string | null;
  /** An ID token this provider issued, when the caller authenticates with it rather than a bearer enrolment token. */
  readonly idTokenHint: string | null;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

function asObject(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
}

export function isLinkToken(value: string): boolean {
  return LINK_TOKEN_SHAPE.test(value);
}

/** A device id as the API hands it out (a lowercase UUID); anything else names no device. */
export function isDeviceId(value: string): boolean {
  return DEVICE_ID_SHAPE.test(value);
}

/** Optional label: control characters flattened, whitespace collapsed, at most 64 characters; blank is none. */
export function parseLabel(input: unknown): Parsed<string | null> {
  if (input === undefined || input === null) return ok(null);
  if (typeof input !== 'string') return fail('label must be a string');
  const label = input
    .replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  if (Array.from(label).length > MAX_LABEL_CHARS) return fail(`label must be at most ${MAX_LABEL_CHARS} characters`);
  return ok(label === '' ? null : label);
}

/** A Web Push subscription (`PushSubscription.toJSON()`) as a device target. */
export function parseWebPushTarget(input: unknown): Parsed<DeviceTarget> {
  const checked = parseWebPushSubscription(input);
  return checked.ok ? ok({ kind: 'web-push', subscription: checked.subscription }) : fail(checked.problem);
}

/**
 * `POST /ext/ciba/devices`: `{kind: "fcm", registration_token, label?}` or
 * `{kind: "web-push", subscription, label?}`, optionally with `id_token_hint`.
 */
export function parseDeviceRegistration(body: unknown): Parsed<DeviceRegistrationRequest> {
  const fields = asObject(body);
  if (!fields) return fail('the body must be a JSON object');
  const label = parseLabel(fields['label']);
  if (!label.ok) return label;
  const hint = fields['id_token_hint'];
  if (hint !== undefined && (typeof hint !== 'string' || hint === '')) return fail('id_token_hint must be a string');
  const idTokenHint = typeof hint === 'string' ? hint : null;

  let target: Parsed<DeviceTarget>;
  switch (fields['kind']) {
    case 'fcm': {
      const token = fields['registration_token'];
      target = typeof token === 'string' && FCM_TOKEN_SHAPE.test(token) ? ok({ kind: 'fcm', registrationToken: token }) : fail('registration_token must be an FCM registration token');
      break;
    }
    case 'web-push':
      target = parseWebPushTarget(fields['subscription']);
      break;
    default:
      return fail('kind must be "fcm" or "web-push"');
  }
  if (!target.ok) return target;
  return ok({ target: target.value, label: label.value, idTokenHint });
}

/** What the enrolment page posts: `{subscription, label?}`. */
export function parseEnrolmentSubmission(body: unknown): Parsed<{ readonly target: DeviceTarget; readonly label: string | null }> {
  const fields = asObject(body);
  if (!fields) return fail('the body must be a JSON object');
  const label = parseLabel(fields['label']);
  if (!label.ok) return label;
  const target = parseWebPushTarget(fields['subscription']);
  if (!target.ok) return target;
  return ok({ target: target.value, label: label.value });
}
