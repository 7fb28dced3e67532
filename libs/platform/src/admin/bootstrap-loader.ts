import type { BootstrapData } from '@ciba/config';
import type { Client, User } from '@ciba/domain';
import type { TypeOrmClientRepository, TypeOrmUserRepository } from '@ciba/persistence';
import type { EndpointPolicy } from '@ciba/outbound';
import type { SigningAlg } from '@ciba/protocol';
import type { SecretHasher } from '@ciba/tokens';

export interface BootstrapResult {
  readonly clients: { readonly written: number; readonly unchanged: number };
  readonly users: { readonly written: number; readonly unchanged: number };
}

/**
 * Upserts the bootstrap file's clients and users. Idempotent: a client whose stored hash already
 * verifies the file's secret keeps that hash (scrypt salts differ each time), and records equal to
 * what is stored are not written at all.
 */
export async function loadBootstrap(
  data: BootstrapData,
  deps: { clients: TypeOrmClientRepository; users: TypeOrmUserRepository; hasher: SecretHasher; signingAlgs: readonly SigningAlg[]; endpoints: EndpointPolicy },
): Promise<BootstrapResult> {
  // A client's ID tokens are signed with the algorithm it registered, which needs an active key: a
  // client asking for one the provider does not sign with would receive no tokens, so say so now
  // rather than at its first token.
  const mismatched = data.clients.filter((c) => c.id_token_signed_response_alg !== undefined && !deps.signingAlgs.includes(c.id_token_signed_response_alg));
  if (mismatched.length > 0) {
    throw new Error(
      `bootstrap: ${mismatched.map((c) => c.client_id).join(', ')} ask for an id_token_signed_response_alg this provider does not sign with (CIBA_SIGNING_ALGS: ${deps.signingAlgs.join(' ')})`,
    );
  }
  // CIBA §4: ping and push clients register an HTTPS notification endpoint. The same SSRF policy as
  // delivery: an endpoint resolving to a private, loopback or metadata address is refused now.
  const problems: string[] = [];
  for (const c of data.clients) {
    const endpoint = c.backchannel_client_notification_endpoint;
    if (c.backchannel_token_delivery_mode === 'poll' || endpoint === undefined) continue;
    try {
      await deps.endpoints.check(endpoint);
    } catch (err) {
      problems.push(`${c.client_id}: backchannel_client_notification_endpoint ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (problems.length > 0) throw new Error(`bootstrap: ${problems.join('; ')}`);

  let clientsWritten = 0;
  let clientsUnchanged = 0;
  for (const c of data.clients) {
    const existing = await deps.clients.findById(c.client_id);
    const keepHash = existing !== null && (await deps.hasher.verify(c.client_secret, existing.clientSecretHash));
    const client: Client = {
      clientId: c.client_id,
      clientName: c.client_name ?? c.client_id,
      clientSecretHash: keepHash && existing ? existing.clientSecretHash : await deps.hasher.hash(c.client_secret),
      tokenEndpointAuthMethod: c.token_endpoint_auth_method,
      grantTypes: c.grant_types,
      scope: c.scope.split(' ').filter(Boolean),
      backchannelTokenDeliveryMode: c.backchannel_token_delivery_mode,
      backchannelClientNotificationEndpoint: c.backchannel_client_notification_endpoint ?? null,
      backchannelUserCodeParameter: c.backchannel_user_code_parameter,
      idTokenSignedResponseAlg: c.id_token_signed_response_alg ?? null,
      authorizationDetailsTypes: c.authorization_details_types,
      defaultAcrValues: c.default_acr_values,
    };
    if (existing && sameJson(existing, client)) {
      clientsUnchanged++;
      continue;
    }
    await deps.clients.upsert(client);
    clientsWritten++;
  }
  let usersWritten = 0;
  let usersUnchanged = 0;
  for (const u of data.users) {
    const user: User = {
      sub: u.sub,
      name: u.name ?? null,
      email: u.email ?? null,
      emailVerified: u.email_verified,
      phoneNumber: u.phone_number ?? null,
      phoneNumberVerified: u.phone_number_verified,
      channelPreference: u.channel_preference ?? null,
    };
    const existing = await deps.users.findBySub(u.sub);
    if (existing && sameJson(existing, user)) {
      usersUnchanged++;
      continue;
    }
    await deps.users.upsert(user);
    usersWritten++;
  }
  return { clients: { written: clientsWritten, unchanged: clientsUnchanged }, users: { written: usersWritten, unchanged: usersUnchanged } };
}

function sameJson(a: object, b: object): boolean {
  const norm = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([x], [y]) => x.localeCompare(y))));
  return norm(a) === norm(b);
}
