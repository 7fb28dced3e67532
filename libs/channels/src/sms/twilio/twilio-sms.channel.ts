import { AsyncLocalStorage } from 'node:async_hooks';
import type twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';

import { z } from 'zod';
import { readCaFile } from '../../ca-file.js';
import { parseChannelOptions } from '../../channel-options.js';
import type { ApprovalNotification, DeviceAnnouncement, EnrolmentInvitation, SendOutcome, SmsChannel } from '../../channel.js';
import { retryAfterMs as parseRetryAfter } from '../../retry-after.js';
import { renderDeviceAnnouncementSmsText, renderEnrolmentSmsText, renderSmsText } from '../sms-text.js';
import { lazySdk } from '../../vendor-sdk.js';

const loadTwilio = lazySdk(async () => (await import('twilio')).default);
type TwilioSdk = Awaited<ReturnType<typeof loadTwilio>>;

const optionalNonEmpty = z.preprocess((v) => (v === '' ? undefined : v), z.string().min(1).optional());

export const twilioSmsOptionsSchema = z
  .object({
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC + 32 hex digits)'),
    authToken: z.string().min(1, 'is required'),
    from: optionalNonEmpty,
    messagingServiceSid: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'must be a Messaging Service SID (MG + 32 hex digits)').optional()),
    /** Replaces `https://api.twilio.com` (tests point it at a local HTTPS server). */
    apiBaseUrl: z.url({ protocol: /^https$/ }).optional(),
    /** Extra trusted CA certificate(s), PEM. */
    ca: z.union([z.string(), z.instanceof(Buffer)]).optional(),
    timeoutMs: z.number().int().positive().optional(),
    /** Optional SMS prefix naming the service. */
    productName: z.string().min(1).optional(),
  })
  .refine((o) => o.from !== undefined || o.messagingServiceSid !== undefined, { message: 'from or messagingServiceSid is required', path: ['from'] });

export type TwilioSmsOptions = z.input<typeof twilioSmsOptionsSchema>;

const ENV_VARIABLES = {
  accountSid: 'CIBA_TWILIO_ACCOUNT_SID',
  authToken: 'CIBA_TWILIO_AUTH_TOKEN',
  from: 'CIBA_TWILIO_FROM',
  messagingServiceSid: 'CIBA_TWILIO_MESSAGING_SERVICE_SID',
  apiBaseUrl: 'CIBA_TWILIO_API_BASE_URL',
};

function parseOptions(input: unknown, variables: Readonly<Record<string, string>> = {}): z.output<typeof twilioSmsOptionsSchema> {
  return parseChannelOptions(twilioSmsOptionsSchema, input, 'Invalid Twilio SMS configuration', variables);
}

/**
 * Reads `CIBA_TWILIO_*` — plus, optionally, `CIBA_TWILIO_API_BASE_URL` (a regional edge or an egress
 * gateway instead of https://api.twilio.com) and `CIBA_TWILIO_CA_FILE` (extra trusted CAs, PEM);
 * fails fast naming the missing or malformed variables.
 */
export function twilioSmsOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): z.output<typeof twilioSmsOptionsSchema> {
  return parseOptions({
    accountSid: env.CIBA_TWILIO_ACCOUNT_SID,
    authToken: env.CIBA_TWILIO_AUTH_TOKEN,
    from: env.CIBA_TWILIO_FROM,
    messagingServiceSid: env.CIBA_TWILIO_MESSAGING_SERVICE_SID,
    apiBaseUrl: env.CIBA_TWILIO_API_BASE_URL || undefined,
    ca: readCaFile(env, 'CIBA_TWILIO_CA_FILE'),
  }, ENV_VARIABLES);
}

/** Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors). */
const PERMANENT_CODES: Readonly<Record<number, string>> = {
  21211: 'twilio_invalid_to',
  21408: 'twilio_region_not_permitted',
  21610: 'twilio_recipient_unsubscribed',
  21612: 'twilio_route_unavailable',
  21614: 'twilio_not_a_mobile_number',
  21606: 'twilio_invalid_from',
  21659: 'twilio_invalid_from',
};
/** Twilio's own "too many requests" error codes, sometimes sent with 400-range statuses. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([20429, 14107]);

type ResponseHeaders = { headers: Record<string, unknown> | null };

interface TwilioConnection {
  readonly sdk: TwilioSdk;
  readonly client: twilio.Twilio;
  destroy(): void;
}

/**
 * Twilio's documented extension point (`new Twilio(sid, token, { httpClient })`): the stock
 * RequestClient, plus an optional origin swap and a hand-off of the response headers, because the
 * SDK's RestException keeps the status and error code but drops Retry-After. Built once the SDK has
 * loaded (see vendor-sdk.ts).
 */
function connect(sdk: TwilioSdk, options: z.output<typeof twilioSmsOptionsSchema>, headerSink: AsyncLocalStorage<ResponseHeaders>): TwilioConnection {
  const { accountSid, authToken, apiBaseUrl, ca, timeoutMs } = options;
  const apiOrigin = apiBaseUrl ? new URL(apiBaseUrl) : null;
  class TwilioHttpClient extends sdk.RequestClient {
    override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
      const uri = apiOrigin ? rebase(opts.uri, apiOrigin) : opts.uri;
      const response = await super.request<TData>({ ...opts, uri });
      const sink = headerSink.getStore();
      if (sink) sink.headers = (response.headers ?? null) as Record<string, unknown> | null;
      return response;
    }
  }
  const httpClient = new TwilioHttpClient({ ca, timeout: timeoutMs ?? 10_000, autoRetry: false });
  return {
    sdk,
    client: sdk(accountSid, authToken, { httpClient, autoRetry: false }),
    destroy: () => (httpClient.axios.defaults.httpsAgent as { destroy?: () => void } | undefined)?.destroy?.(),
  };
}

function rebase(uri: string, origin: URL): string {
  const original = new URL(uri);
  const target = new URL(original.pathname + original.search, origin);
  return target.href;
}

export class TwilioSmsChannel implements SmsChannel {
  readonly kind = 'sms' as const;
  readonly vendor = 'twilio';

  private readonly options: z.output<typeof twilioSmsOptionsSchema>;
  private readonly headerSink = new AsyncLocalStorage<ResponseHeaders>();
  private readonly connection: Promise<TwilioConnection>;

  constructor(options: TwilioSmsOptions) {
    const parsed = parseOptions(options);
    this.options = parsed;
    this.connection = loadTwilio().then((sdk) => connect(sdk, parsed, this.headerSink));
    // A failure to load surfaces on the first send (Twilio unreachable), not as an unhandled rejection.
    this.connection.catch(() => undefined);
  }

  static fromEnv(env: Readonly<Record<string, string | undefined>>): TwilioSmsChannel {
    return new TwilioSmsChannel(twilioSmsOptionsFromEnv(env));
  }

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.deliver(to, renderSmsText(notification, { productName: this.options.productName }));
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return this.deliver(to, renderEnrolmentSmsText(invitation, { productName: this.options.productName }));
  }

  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome> {
    return this.deliver(to, renderDeviceAnnouncementSmsText(announcement, { productName: this.options.productName }));
  }

  private async deliver(to: string, body: string): Promise<SendOutcome> {
    const sender = this.options.messagingServiceSid !== undefined ? { messagingServiceSid: this.options.messagingServiceSid } : { from: this.options.from };
    const sink: ResponseHeaders = { headers: null };
    let connection: TwilioConnection;
    try {
      connection = await this.connection;
    } catch {
      return { kind: 'retryable', reason: 'twilio_unreachable', retryAfterMs: null };
    }
    try {
      const message = await this.headerSink.run(sink, () => connection.client.messages.create({ to, body, ...sender }));
      return { kind: 'sent', providerMessageId: message.sid ?? null };
    } catch (error) {
      return classify(connection.sdk, error, sink.headers);
    }
  }

  close(): Promise<void> {
    return this.connection.then(
      (connection) => connection.destroy(),
      () => undefined,
    );
  }
}

function classify(sdk: TwilioSdk, error: unknown, headers: Record<string, unknown> | null): SendOutcome {
  if (!(error instanceof sdk.RestException)) {
    // Connection refused/reset, TLS failure or timeout: the message may or may not have left; Twilio is the judge on retry.
    return { kind: 'retryable', reason: 'twilio_unreachable', retryAfterMs: null };
  }
  const retryAfterMs = parseRetryAfter(headers?.['retry-after']);
  const status = error.status;
  const code = error.code ?? null;
  if (status === 401 || status === 403) return { kind: 'permanent', reason: 'twilio_auth_failed' };
  if (status === 429 || (code !== null && RETRYABLE_CODES.has(code))) return { kind: 'retryable', reason: 'twilio_rate_limited', retryAfterMs };
  if (status >= 500) return { kind: 'retryable', reason: 'twilio_server_error', retryAfterMs };
  if (code === null) return { kind: 'permanent', reason: `twilio_http_${status}` };
  return { kind: 'permanent', reason: PERMANENT_CODES[code] ?? `twilio_error_${code}` };
}
