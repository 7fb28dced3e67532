import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthenticatedClient } from '@ciba/domain';
import { ClientAuthenticator } from '@ciba/platform';
import { type FormParams, OAuthError } from '@ciba/protocol';

/** The registered scope a client needs to read evidence records (`/audit/records`, `/audit/export`). */
export { AUDIT_READ_SCOPE } from '@ciba/protocol';

/**
 * Who may call the audit API: a registered client, authenticated with its own registered method
 * exactly as at the token endpoint (`ClientAuthenticator`, with its failure throttle and its
 * `401 invalid_client` + `WWW-Authenticate`), holding the endpoint's scope among its registered
 * scopes. The audit scopes are never granted by a token: they are administrative rights a client is
 * registered with, so the check is against the registration, and a client without one is
 * `403 insufficient_scope` (RFC 6750 §3.1) after authenticating, which reveals nothing to a caller
 * who does not hold the client's credentials.
 */
@Injectable()
export class AuditApiClients {
  constructor(private readonly clientAuthenticator: ClientAuthenticator) {}

  async authenticate(req: Request, params: FormParams, scope: string): Promise<AuthenticatedClient> {
    const client = await this.clientAuthenticator.authenticate(req, params);
    if (!client.scope.includes(scope)) throw insufficientScope(scope);
    return client;
  }
}

export function insufficientScope(scope: string): OAuthError {
  return new OAuthError('insufficient_scope', `the client is not registered for the scope ${scope}`);
}
