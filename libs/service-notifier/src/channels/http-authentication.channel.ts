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

export class HttpAuthenticationChannel {
  readonly name = HTTP_CHANNEL;

  constructor(
    private readonly uri: string,
    private readonly timeoutMs: number,
  ) {}

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
      const res = await fetch(this.uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${request.decisionToken}` },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, reason: `channel answered HTTP ${res.status}` };
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      return { ok: false, reason: name === 'TimeoutError' ? 'channel timed out' : `channel unreachable (${name})` };
    }
  }
}
