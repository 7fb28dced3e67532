import { createECDH } from 'node:crypto';
import { Agent } from 'node:https';
import { z } from 'zod';
import type { ApprovalNotification, DevicePushChannel, DeviceTarget, SendOutcome, WebPushSubscription } from '../../channel.js';
import { devicePushPayload } from '../push-payload.js';
import { retryAfterMs as parseRetryAfter } from '../../retry-after.js';
import { parseWebPushSubscription } from './web-push-subscription.js';
import { readCaFile } from '../../ca-file.js';
import { lazySdk, preload } from '../../vendor-sdk.js';

const loadWebPush = lazySdk(() => import('web-push'));

const base64UrlBytes = (bytes: number) => (value: string) => /^[A-Za-z0-9_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64url').length === bytes;

/** Validated settings. Messages name the field only: key material never reaches an error or a log. */
export const webPushChannelOptionsSchema = z.object({
  vapidSubject: z
    .string()
    .refine((s) => /^mailto:\S+@\S+$/.test(s) || /^https:\/\/\S+$/.test(s), { message: "must be a 'mailto:' address or an 'https:' URL (RFC 8292 §2.1)" }),
  /** Uncompressed P-256 point, base64url (65 bytes). */
  vapidPublicKey: z.string().refine(base64UrlBytes(65), { message: 'must be a base64url P-256 public key (65 bytes)' }),
  /** P-256 private scalar, base64url (32 bytes). */
  vapidPrivateKey: z.string().refine(base64UrlBytes(32), { message: 'must be a base64url P-256 private key (32 bytes)' }),
  /** Fixed TTL; by default the seconds left until the request expires. */
  ttlSeconds: z.number().int().min(0).optional(),
  urgency: z.enum(['very-low', 'low', 'normal', 'high']).optional(),
  timeoutMs: z.number().int().positive().optional(),
  /**
   * Push services a subscription may point at: `host` (port 443) or `host:port`, `*.` for any
   * subdomain. A subscription endpoint is a URL the user's browser chose; without this list the
   * notifier would POST wherever a registration says (SSRF). Default: the browsers' push services.
   */
  allowedEndpointHosts: z.array(z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/i, { message: 'must be host, host:port or *.domain' })).min(1).optional(),
});

/** Chrome/Edge (FCM), Firefox (Mozilla autopush), Safari (Apple), legacy Edge (WNS). */
export const DEFAULT_PUSH_SERVICE_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  '*.push.services.mozilla.com',
  'web.push.apple.com',
  '*.push.apple.com',
  '*.notify.windows.com',
];

/** Whether `endpoint` points at one of `allowed` (see `allowedEndpointHosts`). */
export function isAllowedPushEndpoint(endpoint: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:') return false;
  const host = url.hostname.toLowerCase();
  const port = url.port === '' ? '443' : url.port;
  return allowed.some((entry) => {
    const [pattern = '', wantedPort = '443'] = entry.toLowerCase().split(':');
    if (port !== wantedPort) return false;
    return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;
  });
}

export type WebPushChannelOptions = z.input<typeof webPushChannelOptionsSchema> & {
  /** Outgoing HTTPS agent (tests: one trusting a self-signed CA). */
  readonly agent?: Agent;
  /** Clock, for the TTL computation. */
  readonly now?: () => Date;
};

/** Zod issues rendered as `path: message` only (zod 4 does not copy the input into issues). */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Web Push (RFC 8030) with aes128gcm payload encryption (RFC 8291) and VAPID (RFC 8292), via the
 * `web-push` library.
 *
 * Outcomes: 201 → sent (message id from `Location`). 404/410 → permanent `subscription_gone`: the
 * subscription is dead for good and the CALLER MUST DELETE the device registration. 413 → permanent
 * `payload_too_large`. 429, 5xx and network errors → retryable (`Retry-After` honoured). 400/401/403 →
 * permanent (a malformed request or a VAPID key the push service refuses will not heal by retrying).
 */
export class WebPushChannel implements DevicePushChannel {
  readonly kind = 'device-push' as const;
  readonly vendor = 'web-push';

  private readonly options: z.output<typeof webPushChannelOptionsSchema>;
  private readonly agent: Agent | undefined;
  private readonly now: () => Date;

  constructor(options: WebPushChannelOptions) {
    const parsed = webPushChannelOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`Invalid Web Push channel options: ${describeIssues(parsed.error)}`);
    this.options = parsed.data;
    this.agent = options.agent;
    this.now = options.now ?? (() => new Date());
    preload(loadWebPush);
  }

  /**
   * Reads `CIBA_WEB_PUSH_VAPID_SUBJECT`, `CIBA_WEB_PUSH_VAPID_PUBLIC_KEY`, `CIBA_WEB_PUSH_VAPID_PRIVATE_KEY`
   * and, optionally, `CIBA_WEB_PUSH_ALLOWED_HOSTS` (comma-separated; replaces the default list) and
   * `CIBA_WEB_PUSH_CA_FILE` (extra trusted CAs, PEM, e.g. a TLS-inspecting egress proxy).
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, extra: Pick<WebPushChannelOptions, 'agent' | 'now'> = {}): WebPushChannel {
    const names = {
      vapidSubject: 'CIBA_WEB_PUSH_VAPID_SUBJECT',
      vapidPublicKey: 'CIBA_WEB_PUSH_VAPID_PUBLIC_KEY',
      vapidPrivateKey: 'CIBA_WEB_PUSH_VAPID_PRIVATE_KEY',
      allowedEndpointHosts: 'CIBA_WEB_PUSH_ALLOWED_HOSTS',
    } as const;
    const missing = [names.vapidSubject, names.vapidPublicKey, names.vapidPrivateKey].filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`Web Push channel: missing ${missing.join(', ')}`);
    const parsed = webPushChannelOptionsSchema.safeParse({
      vapidSubject: env[names.vapidSubject],
      vapidPublicKey: env[names.vapidPublicKey],
      vapidPrivateKey: env[names.vapidPrivateKey],
      allowedEndpointHosts: env[names.allowedEndpointHosts]
        ?.split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    });
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${names[i.path[0] as keyof typeof names] ?? String(i.path[0])}: ${i.message}`).join('; ');
      throw new Error(`Web Push channel: ${detail}`);
    }
    const ca = readCaFile(env, 'CIBA_WEB_PUSH_CA_FILE');
    return new WebPushChannel({ ...parsed.data, ...(ca ? { agent: new Agent({ ca }) } : {}), ...extra });
  }

  /** A fresh VAPID key pair (base64url), for provisioning. */
  static generateVapidKeys(): { publicKey: string; privateKey: string } {
    // What web-push's generateVAPIDKeys does: an uncompressed P-256 point and a 32-byte scalar.
    const curve = createECDH('prime256v1');
    curve.generateKeys();
    const scalar = curve.getPrivateKey();
    const privateKey = scalar.length < 32 ? Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]) : scalar;
    return { publicKey: curve.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
  }

  /** The VAPID public key (RFC 8292 §3.2), base64url: browsers subscribe with it as `applicationServerKey`. */
  get vapidPublicKey(): string {
    return this.options.vapidPublicKey;
  }

  /** Web Push subscriptions whose endpoint is an allowed push service. */
  accepts(target: DeviceTarget): boolean {
    return target.kind === 'web-push' && this.allowedEndpoint(target.subscription.endpoint);
  }

  private allowedEndpoint(endpoint: string): boolean {
    return isAllowedPushEndpoint(endpoint, this.options.allowedEndpointHosts ?? DEFAULT_PUSH_SERVICE_HOSTS);
  }

  async send(target: DeviceTarget, notification: ApprovalNotification): Promise<SendOutcome> {
    if (target.kind !== 'web-push') return { kind: 'permanent', reason: 'unsupported_target' };
    if (!isUsableSubscription(target.subscription)) return { kind: 'permanent', reason: 'subscription_invalid' };
    if (!this.allowedEndpoint(target.subscription.endpoint)) return { kind: 'permanent', reason: 'endpoint_not_allowed' };

    const ttl = this.options.ttlSeconds ?? Math.max(0, Math.ceil((notification.expiresAt.getTime() - this.now().getTime()) / 1000));
    const { default: webpush } = await loadWebPush();
    try {
      const result = await webpush.sendNotification(
        { endpoint: target.subscription.endpoint, keys: { p256dh: target.subscription.keys.p256dh, auth: target.subscription.keys.auth } },
        JSON.stringify(devicePushPayload(notification)),
        {
          vapidDetails: { subject: this.options.vapidSubject, publicKey: this.options.vapidPublicKey, privateKey: this.options.vapidPrivateKey },
          TTL: ttl,
          // An approval is time-critical: wake the device.
          urgency: this.options.urgency ?? 'high',
          contentEncoding: 'aes128gcm',
          timeout: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          ...(this.agent ? { agent: this.agent } : {}),
        },
      );
      return { kind: 'sent', providerMessageId: headerValue(result.headers, 'location') };
    } catch (error) {
      if (error instanceof webpush.WebPushError) {
        return classifyWebPushResponse(error.statusCode, headerValue(error.headers, 'retry-after'), this.now());
      }
      // Socket errors and timeouts: the push service may well be back shortly.
      return { kind: 'retryable', reason: 'network_error', retryAfterMs: null };
    }
  }
}

/** Maps a push service's non-2xx status to an outcome (RFC 8030 §5, §8.4 and RFC 8292 §4). */
export function classifyWebPushResponse(status: number, retryAfter: string | null, now: Date = new Date()): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'sent', providerMessageId: null };
  if (status === 404 || status === 410) return { kind: 'permanent', reason: 'subscription_gone' };
  if (status === 413) return { kind: 'permanent', reason: 'payload_too_large' };
  if (status === 429) return { kind: 'retryable', reason: 'push_service_rate_limited', retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status >= 500) return { kind: 'retryable', reason: 'push_service_unavailable', retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status === 401 || status === 403) return { kind: 'permanent', reason: 'vapid_rejected' };
  if (status === 400) return { kind: 'permanent', reason: 'push_request_rejected' };
  return { kind: 'permanent', reason: `push_service_status_${status}` };
}

function isUsableSubscription(s: WebPushSubscription): boolean {
  return parseWebPushSubscription(s).ok;
}

function headerValue(headers: Readonly<Record<string, string | string[] | undefined>> | undefined, name: string): string | null {
  const value = headers?.[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}
