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
  /** RFC 9396 details the user is asked to approve; sent only when the client sent them. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
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
    const body = {
      login_hint: request.loginHint,
      binding_message: request.bindingMessage ?? undefined,
      is_consent_required: true,
      scope: request.scope.join(' '),
      acr_values: request.acrValues.length > 0 ? request.acrValues.join(' ') : undefined,
      client_id: request.clientId,
      // An addition to Keycloak's body: devices that do not know it ignore it, and it is absent unless the client sent details.
      authorization_details: request.authorizationDetails ?? undefined,
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
