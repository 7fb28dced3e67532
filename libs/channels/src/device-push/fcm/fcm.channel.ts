import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import type { Agent, Dispatcher } from 'undici';
import { z } from 'zod';
import type { ApprovalNotification, DevicePushChannel, DeviceTarget, SendOutcome } from '../../channel.js';
import { readCaFile } from '../../ca-file.js';
import { devicePushPayload } from '../push-payload.js';
import { retryAfterMs as parseRetryAfter } from '../../retry-after.js';
import { lazySdk } from '../../vendor-sdk.js';

const loadUndici = lazySdk(() => import('undici'));

export const FCM_MESSAGING_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The fields of a Google service-account key file we use. */
export const fcmServiceAccountSchema = z.object({
  client_email: z.string().min(1),
  private_key: z.string().refine((k) => k.includes('-----BEGIN PRIVATE KEY-----'), { message: 'must be a PKCS#8 PEM private key' }),
  token_uri: z.url({ protocol: /^https$/ }),
  private_key_id: z.string().optional(),
});
export type FcmServiceAccount = z.infer<typeof fcmServiceAccountSchema>;

export const fcmChannelOptionsSchema = z.object({
  projectId: z.string().regex(/^[a-z0-9-]+$/, { message: 'must be a Firebase project id' }),
  serviceAccount: fcmServiceAccountSchema,
  apiBaseUrl: z.url({ protocol: /^https$/ }).default('https://fcm.googleapis.com'),
  /** Fixed TTL; by default the seconds left until the request expires. */
  ttlSeconds: z.number().int().min(0).optional(),
  timeoutMs: z.number().int().positive().optional(),
});

/** The slice of `fetch` this adapter uses; global `fetch` and undici's both fit. */
export type FcmFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal; dispatcher?: Dispatcher },
) => Promise<{ readonly status: number; readonly headers: { get(name: string): string | null }; text(): Promise<string> }>;

export type FcmChannelOptions = z.input<typeof fcmChannelOptionsSchema> & {
  readonly fetch?: FcmFetch;
  /** An undici dispatcher for all requests (proxy, pool tuning, tests). */
  readonly dispatcher?: Dispatcher;
  /** Extra trusted CA (PEM) — tests with a self-signed peer. Ignored when `dispatcher` is given. */
  readonly ca?: string | Buffer;
  readonly now?: () => Date;
};

/** Zod issues as `path: message` only: the private key never reaches an error. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Refresh this long before the access token's stated expiry, so it never expires in flight. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const ASSERTION_LIFETIME_S = 3600;

type TokenResult = { readonly token: string } | { readonly outcome: SendOutcome };

/**
 * Firebase Cloud Messaging, HTTP v1 REST API, authenticated with a service account through the
 * OAuth 2.0 JWT bearer grant (RFC 7523 §2.1). No firebase-admin SDK.
 *
 * Outcomes: 200 → sent (message `name`). 404 UNREGISTERED, 400 INVALID_ARGUMENT about the token, or 403
 * SENDER_ID_MISMATCH → permanent `registration_token_invalid`: the CALLER MUST DELETE the device
 * registration. 401/403 → the cached access token is dropped and the send retried ONCE with a freshly
 * minted token (a revoked or rotated token heals that way); if FCM refuses again → permanent
 * `fcm_auth_failed` (the service account itself is wrong: retrying later will not help). 429 and 5xx →
 * retryable with `Retry-After`. Network errors and timeouts → retryable.
 */
export class FcmChannel implements DevicePushChannel {
  readonly kind = 'device-push' as const;
  readonly vendor = 'fcm';

  private readonly options: z.output<typeof fcmChannelOptionsSchema>;
  /** The fetch and dispatcher to use, once undici has loaded (see vendor-sdk.ts). */
  private readonly http: Promise<{ readonly fetch: FcmFetch; readonly dispatcher: Dispatcher | undefined; readonly ownedAgent: Agent | undefined }>;
  private readonly now: () => Date;
  private signingKey: ReturnType<typeof importPKCS8> | undefined;
  private cachedToken: { readonly token: string; readonly refreshAtMs: number } | undefined;
  private pendingToken: Promise<TokenResult> | undefined;

  constructor(options: FcmChannelOptions) {
    const parsed = fcmChannelOptionsSchema.safeParse(options);
    if (!parsed.success) throw new Error(`Invalid FCM channel options: ${describeIssues(parsed.error)}`);
    this.options = parsed.data;
    this.http = loadUndici().then((undici) => {
      const ownedAgent = !options.dispatcher && options.ca ? new undici.Agent({ connect: { ca: options.ca } }) : undefined;
      return { fetch: options.fetch ?? undici.fetch, dispatcher: options.dispatcher ?? ownedAgent, ownedAgent };
    });
    // A failure to load surfaces on the first send (a network error there), not as an unhandled rejection.
    this.http.catch(() => undefined);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Reads `CIBA_FCM_PROJECT_ID` and the service-account JSON at `CIBA_FCM_SERVICE_ACCOUNT_FILE`; optionally
   * `CIBA_FCM_API_BASE_URL` (an egress gateway instead of https://fcm.googleapis.com) and
   * `CIBA_FCM_CA_FILE` (extra trusted CAs, PEM, for the API and the token endpoint).
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, extra: Omit<FcmChannelOptions, 'projectId' | 'serviceAccount'> = {}): FcmChannel {
    const missing = ['CIBA_FCM_PROJECT_ID', 'CIBA_FCM_SERVICE_ACCOUNT_FILE'].filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`FCM channel: missing ${missing.join(', ')}`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(env['CIBA_FCM_SERVICE_ACCOUNT_FILE'] as string, 'utf8'));
    } catch (error) {
      // Only the error class: a JSON parse message can quote the file's content.
      throw new Error(`FCM channel: CIBA_FCM_SERVICE_ACCOUNT_FILE is unreadable or not JSON (${(error as Error).name})`);
    }
    const account = fcmServiceAccountSchema.safeParse(json);
    if (!account.success) throw new Error(`FCM channel: CIBA_FCM_SERVICE_ACCOUNT_FILE: ${describeIssues(account.error)}`);
    const apiBaseUrl = env['CIBA_FCM_API_BASE_URL'];
    if (apiBaseUrl && !z.url({ protocol: /^https$/ }).safeParse(apiBaseUrl).success) throw new Error('FCM channel: CIBA_FCM_API_BASE_URL must be an https URL');
    const ca = readCaFile(env, 'CIBA_FCM_CA_FILE');
    return new FcmChannel({
      ...(apiBaseUrl ? { apiBaseUrl } : {}),
      ...(ca ? { ca } : {}),
      ...extra,
      projectId: env['CIBA_FCM_PROJECT_ID'] as string,
      serviceAccount: account.data,
    });
  }

  accepts(target: DeviceTarget): boolean {
    return target.kind === 'fcm';
  }

  async send(target: DeviceTarget, notification: ApprovalNotification): Promise<SendOutcome> {
    if (target.kind !== 'fcm') return { kind: 'permanent', reason: 'unsupported_target' };
    const first = await this.sendOnce(target.registrationToken, notification);
    if (first !== 'auth_rejected') return first;
    // The cached token may have been revoked or the key rotated: one retry with a fresh token.
    this.cachedToken = undefined;
    const second = await this.sendOnce(target.registrationToken, notification);
    return second === 'auth_rejected' ? { kind: 'permanent', reason: 'fcm_auth_failed' } : second;
  }

  async close(): Promise<void> {
    const http = await this.http.catch(() => null);
    await http?.ownedAgent?.close();
  }

  private async fetch(url: string, init: Omit<Parameters<FcmFetch>[1], 'dispatcher'>): ReturnType<FcmFetch> {
    const http = await this.http;
    return http.fetch(url, { ...init, ...(http.dispatcher ? { dispatcher: http.dispatcher } : {}) });
  }

  private async sendOnce(registrationToken: string, notification: ApprovalNotification): Promise<SendOutcome | 'auth_rejected'> {
    const access = await this.accessToken();
    if ('outcome' in access) return access.outcome;

    const payload = devicePushPayload(notification);
    const ttl = this.options.ttlSeconds ?? Math.max(0, Math.ceil((notification.expiresAt.getTime() - this.now().getTime()) / 1000));
    const message = {
      message: {
        token: registrationToken,
        notification: { title: payload.title, body: payload.body },
        data: { url: payload.url },
        android: { priority: 'high', ttl: `${ttl}s` },
        apns: { headers: { 'apns-priority': '10' } },
        webpush: { fcm_options: { link: payload.url } },
      },
    };
    const url = `${this.options.apiBaseUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(this.options.projectId)}/messages:send`;
    let response: Awaited<ReturnType<FcmFetch>>;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${access.token}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      text = await response.text();
    } catch {
      return { kind: 'retryable', reason: 'network_error', retryAfterMs: null };
    }
    const body = safeJson(text);
    if (response.status === 200) {
      const name = typeof body === 'object' && body !== null && typeof (body as { name?: unknown }).name === 'string' ? (body as { name: string }).name : null;
      return { kind: 'sent', providerMessageId: name };
    }
    return classifyFcmResponse(response.status, body, response.headers.get('retry-after'), this.now());
  }

  /** A cached access token, or one minted with the JWT bearer grant; concurrent callers share one mint. */
  private accessToken(): Promise<TokenResult> {
    if (this.cachedToken && this.now().getTime() < this.cachedToken.refreshAtMs) return Promise.resolve({ token: this.cachedToken.token });
    this.pendingToken ??= this.mintAccessToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async mintAccessToken(): Promise<TokenResult> {
    const account = this.options.serviceAccount;
    let assertion: string;
    try {
      this.signingKey ??= importPKCS8(account.private_key, 'RS256');
      const iat = Math.floor(this.now().getTime() / 1000);
      assertion = await new SignJWT({ scope: FCM_MESSAGING_SCOPE })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(account.private_key_id ? { kid: account.private_key_id } : {}) })
        .setIssuer(account.client_email)
        .setSubject(account.client_email)
        .setAudience(account.token_uri)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ASSERTION_LIFETIME_S)
        .sign(await this.signingKey);
    } catch {
      this.signingKey = undefined;
      return { outcome: { kind: 'permanent', reason: 'fcm_auth_failed' } };
    }

    let status: number;
    let retryAfter: string | null;
    let body: unknown;
    try {
      const response = await this.fetch(account.token_uri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      body = safeJson(await response.text());
    } catch {
      return { outcome: { kind: 'retryable', reason: 'fcm_token_endpoint_unreachable', retryAfterMs: null } };
    }
    if (status === 429 || status >= 500) {
      return { outcome: { kind: 'retryable', reason: 'fcm_token_endpoint_unavailable', retryAfterMs: parseRetryAfter(retryAfter, this.now()) } };
    }
    const token = tokenResponseSchema.safeParse(body);
    if (status !== 200 || !token.success) return { outcome: { kind: 'permanent', reason: 'fcm_auth_failed' } };
    const lifetimeMs = (token.data.expires_in ?? ASSERTION_LIFETIME_S) * 1000;
    this.cachedToken = { token: token.data.access_token, refreshAtMs: this.now().getTime() + Math.max(0, lifetimeMs - TOKEN_REFRESH_MARGIN_MS) };
    return { token: token.data.access_token };
  }
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive().optional(),
});

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

interface GoogleErrorBody {
  readonly error?: {
    readonly status?: string;
    readonly message?: string;
    readonly details?: readonly { readonly '@type'?: string; readonly errorCode?: string; readonly fieldViolations?: readonly { readonly field?: string }[] }[];
  };
}

/**
 * Maps an FCM v1 error response (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) to
 * an outcome; `'auth_rejected'` tells the channel to retry once with a fresh access token.
 */
export function classifyFcmResponse(status: number, body: unknown, retryAfter: string | null, now: Date = new Date()): SendOutcome | 'auth_rejected' {
  const error = (typeof body === 'object' && body !== null ? (body as GoogleErrorBody).error : undefined) ?? {};
  const details = error.details ?? [];
  const fcmCode = details.find((d) => d['@type'] === FCM_ERROR_TYPE)?.errorCode ?? error.status;
  const aboutToken =
    details.some((d) => d['@type'] === BAD_REQUEST_TYPE && (d.fieldViolations ?? []).some((v) => v.field === 'message.token')) ||
    /registration token/i.test(error.message ?? '');

  if (status === 404 || fcmCode === 'UNREGISTERED') return { kind: 'permanent', reason: 'registration_token_invalid' };
  if (status === 400 && aboutToken) return { kind: 'permanent', reason: 'registration_token_invalid' };
  if (status === 403 && fcmCode === 'SENDER_ID_MISMATCH') return { kind: 'permanent', reason: 'registration_token_invalid' };
  if (status === 401 || status === 403) return 'auth_rejected';
  if (status === 429) return { kind: 'retryable', reason: 'fcm_quota_exceeded', retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status >= 500) return { kind: 'retryable', reason: 'fcm_unavailable', retryAfterMs: parseRetryAfter(retryAfter, now) };
  if (status === 400) return { kind: 'permanent', reason: 'fcm_invalid_request' };
  return { kind: 'permanent', reason: `fcm_status_${status}` };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
