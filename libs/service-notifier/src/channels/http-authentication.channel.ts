import type { OnApplicationShutdown } from '@nestjs/common';

/**
 * The HTTP authentication channel, wire-compatible with Keycloak's CIBA HTTP authentication
 * channel: POST JSON to the configured URI with `Authorization: Bearer <decision token>`; any 2xx
 * means the device side accepted the request.
 */
export interface AuthenticationChannelRequest {
  readonly decisionToken: string;
  /** The user's `sub`. */
  readonly loginHint: string;
  readonly bindingMessage: string | null;
  readonly scope: readonly string[];
  readonly acrValues: readonly string[];
  readonly clientId: string;
  /** RFC 9396 details the user is asked to approve; null when the client sent none. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
}

/** The JSON body POSTed to the channel (README "The HTTP authentication channel"). */
export interface AuthenticationChannelBody {
  readonly login_hint: string;
  readonly binding_message: string | null;
  readonly is_consent_required: true;
  readonly scope: string;
  readonly acr_values: string | null;
  readonly client_id: string;
  readonly authorization_details: readonly Readonly<Record<string, unknown>>[] | null;
}

export type ChannelOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** The decision-token channel name of the HTTP authentication channel. */
export const HTTP_CHANNEL = 'http';

const importUndici = () => import('undici');
type Undici = Awaited<ReturnType<typeof importUndici>>;

/**
 * Sent with undici's `request` on a kept-alive connection pool of its own (the HTTP client of the
 * provider's outbound calls; about a third of the CPU of WHATWG `fetch` per call), imported on the
 * first send. No redirect is followed; the timeout bounds connecting, the headers and the body.
 */
export class HttpAuthenticationChannel implements OnApplicationShutdown {
  readonly name = HTTP_CHANNEL;
  private client: Promise<{ undici: Undici; dispatcher: InstanceType<Undici['Agent']> }> | undefined;

  constructor(
    private readonly uri: string,
    private readonly timeoutMs: number,
  ) {}

  private connection() {
    this.client ??= importUndici().then((undici) => ({
      undici,
      dispatcher: new undici.Agent({ connect: { timeout: this.timeoutMs }, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs }),
    }));
    return this.client;
  }

  /** Closes the kept-alive connections (Nest calls it on shutdown). */
  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await (await client).dispatcher.close();
  }

  async send(request: AuthenticationChannelRequest): Promise<ChannelOutcome> {
    // Every documented field is always present, null when the request has no value for it: a device
    // can tell "not sent" from a field its parser dropped, and never mistakes an absent acr_values
    // for a default.
    const body: AuthenticationChannelBody = {
      login_hint: request.loginHint,
      binding_message: request.bindingMessage,
      is_consent_required: true,
      scope: request.scope.join(' '),
      acr_values: request.acrValues.length > 0 ? request.acrValues.join(' ') : null,
      client_id: request.clientId,
      // An addition to Keycloak's body: devices that do not know it ignore it.
      authorization_details: request.authorizationDetails,
    };
    try {
      const { undici, dispatcher } = await this.connection();
      const res = await undici.request(this.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${request.decisionToken}` },
        body: JSON.stringify(body),
        dispatcher,
      });
      await res.body.dump().catch(() => undefined);
      return res.statusCode >= 200 && res.statusCode < 300 ? { ok: true } : { ok: false, reason: `channel answered HTTP ${res.statusCode}` };
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      const timedOut = code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      return { ok: false, reason: timedOut ? 'channel timed out' : `channel unreachable (${typeof code === 'string' ? code : err instanceof Error ? err.name : 'Error'})` };
    }
  }
}
