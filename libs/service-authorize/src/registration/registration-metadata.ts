import { type ProviderConfig, registrationMetadataSchema } from '@ciba/config';
import { type ClientMetadata, type ClientMetadataChecks, clientMetadataProblems } from '@ciba/platform';
import { ADMINISTRATIVE_SCOPES, CIBA_GRANT_TYPE, CLIENT_AUTH_METHODS, type ClientAuthMethod, OAuthError, REFRESH_TOKEN_GRANT_TYPE, TLS_CLIENT_AUTH_METHODS } from '@ciba/protocol';
import { SECRET_AUTH_METHODS, SERVER_ASSIGNED_MEMBERS, displayTextProblem, invalidClientMetadata } from './registration.rules.js';

/** What a registered client may ask for: the bootstrap file's checks, and what this provider serves. */
export interface RegistrationPolicy extends ClientMetadataChecks {
  /** CIBA_DELIVERY_MODES: a client cannot register a mode discovery does not offer. */
  readonly deliveryModes: readonly string[];
  /** CIBA_SCOPES. */
  readonly scopes: readonly string[];
  /** The token endpoint authentication methods discovery advertises. */
  readonly authMethods: readonly string[];
  /**
   * RFC 9396 §10: the authorization_details types clients already hold, which discovery publishes.
   * A registration may pick among them but add none: a registrant must not be able to write into
   * the discovery document. The types come from the operator (the bootstrap file).
   */
  readonly authorizationDetailsTypes: () => Promise<readonly string[]>;
}

/** The token endpoint authentication methods this provider serves: the mutual-TLS ones only when a certificate header is configured (RFC 8705). */
export function tokenEndpointAuthMethodsSupported(config: ProviderConfig): ClientAuthMethod[] {
  return CLIENT_AUTH_METHODS.filter((method) => config.mtls || !(TLS_CLIENT_AUTH_METHODS as readonly string[]).includes(method));
}

export function registrationPolicy(
  config: ProviderConfig,
  checks: ClientMetadataChecks,
  authorizationDetailsTypes: () => Promise<readonly string[]>,
): RegistrationPolicy {
  return { ...checks, deliveryModes: config.ciba.deliveryModes, scopes: config.ciba.scopes, authMethods: tokenEndpointAuthMethodsSupported(config), authorizationDetailsTypes };
}

const GRANT_TYPES: readonly string[] = [CIBA_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE];

/** The credentials the provider assigns: the client id, and the secret when the method needs one. */
export interface AssignedCredentials {
  readonly clientId: string;
  /** The secret to register with (a new one, or a placeholder when an update keeps the stored one). */
  readonly clientSecret: string;
}

/**
 * The metadata of a registration (RFC 7591 §2) or update (RFC 7592 §2.2) request, checked in this
 * order, every refusal naming the field:
 * 1. a software statement (RFC 7591 §2.3) is refused: this provider approves none;
 * 2. each field and the rules across fields: the bootstrap file's schema, except that members it
 *    does not know are ignored (RFC 7591 §2), never stored or echoed;
 * 3. what this provider serves: grant types, delivery modes, scopes, authorization_details types
 *    already registered by the operator, a displayable client name;
 * 4. the checks shared with the bootstrap file that need the provider: notification endpoint and
 *    jwks_uri under the outbound (SSRF) policy, ID token algorithm with an active key, a key to seal
 *    a client_secret_jwt secret.
 */
export async function checkRegistrationMetadata(request: Readonly<Record<string, unknown>>, assigned: AssignedCredentials, policy: RegistrationPolicy): Promise<ClientMetadata> {
  if (request['software_statement'] !== undefined) {
    throw new OAuthError('unapproved_software_statement', 'software_statement: this provider approves no software statements; register without one');
  }
  const metadata = Object.fromEntries(Object.entries(request).filter(([name]) => !(SERVER_ASSIGNED_MEMBERS as readonly string[]).includes(name)));
  const method = metadata['token_endpoint_auth_method'] ?? 'client_secret_basic';
  const needsSecret = typeof method === 'string' && SECRET_AUTH_METHODS.includes(method);
  const parsed = registrationMetadataSchema.safeParse({ ...metadata, client_id: assigned.clientId, ...(needsSecret ? { client_secret: assigned.clientSecret } : {}) });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
    throw invalidClientMetadata(problems.join('; '));
  }
  const c = parsed.data;
  const knownTypes = c.authorization_details_types.length > 0 ? await policy.authorizationDetailsTypes() : [];
  const problems = [...servedProblems(c, policy, knownTypes), ...(await clientMetadataProblems(c, policy)).map((p) => `${p.field}: ${p.message}`)];
  if (problems.length > 0) throw invalidClientMetadata(problems.join('; '));
  return c;
}

function servedProblems(c: ClientMetadata, policy: RegistrationPolicy, knownAuthorizationDetailsTypes: readonly string[]): string[] {
  const problems: string[] = [];
  const newTypes = c.authorization_details_types.filter((type) => !knownAuthorizationDetailsTypes.includes(type));
  if (newTypes.length > 0) problems.push(`authorization_details_types: ${newTypes.join(' ')} not supported`);
  if (!policy.authMethods.includes(c.token_endpoint_auth_method)) {
    problems.push(`token_endpoint_auth_method: ${c.token_endpoint_auth_method} is not offered (offered: ${policy.authMethods.join(' ')})`);
  }
  const unsupportedGrants = c.grant_types.filter((g) => !GRANT_TYPES.includes(g));
  if (unsupportedGrants.length > 0) problems.push(`grant_types: ${unsupportedGrants.join(' ')} not supported (supported: ${GRANT_TYPES.join(' ')})`);
  else if (!c.grant_types.includes(CIBA_GRANT_TYPE)) problems.push(`grant_types: must include ${CIBA_GRANT_TYPE}`);
  if (!policy.deliveryModes.includes(c.backchannel_token_delivery_mode)) {
    problems.push(`backchannel_token_delivery_mode: ${c.backchannel_token_delivery_mode} is not offered (offered: ${policy.deliveryModes.join(' ')})`);
  }
  const administrative = c.scope.split(' ').filter((s) => ADMINISTRATIVE_SCOPES.includes(s));
  if (administrative.length > 0) problems.push(`scope: ${administrative.join(' ')} is granted only by an operator (the bootstrap file), never by registration`);
  const unknownScopes = c.scope.split(' ').filter((s) => s !== '' && !policy.scopes.includes(s) && !ADMINISTRATIVE_SCOPES.includes(s));
  if (unknownScopes.length > 0) problems.push(`scope: ${unknownScopes.join(' ')} not supported`);
  if (c.client_name !== undefined) {
    const problem = displayTextProblem(c.client_name);
    if (problem !== null) problems.push(`client_name: ${problem}`);
  }
  return problems;
}

/**
 * The metadata as registered, echoed in every response (RFC 7591 §3.2.1) and stored with the
 * registration: the checked fields with their defaults, never client_id or client_secret.
 */
export function registeredMetadata(c: ClientMetadata): Record<string, unknown> {
  const { client_id: _id, client_secret: _secret, ...metadata } = c;
  return metadata;
}
