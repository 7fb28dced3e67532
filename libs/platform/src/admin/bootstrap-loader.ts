import { randomBytes } from 'node:crypto';
import type { BootstrapData } from '@ciba/config';
import type { Client, User } from '@ciba/domain';
import type { TypeOrmClientRepository, TypeOrmUserCodeStore, TypeOrmUserRepository } from '@ciba/persistence';
import type { EndpointPolicy } from '@ciba/outbound';
import type { SigningAlg } from '@ciba/protocol';
import { type KeyEncryptor, type SecretHasher, clientSecretSealingContext } from '@ciba/tokens';

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
  deps: {
    clients: TypeOrmClientRepository;
    users: TypeOrmUserRepository;
    hasher: SecretHasher;
    signingAlgs: readonly SigningAlg[];
    endpoints: EndpointPolicy;
    /** Seals client_secret_jwt secrets (CIBA_KEY_ENCRYPTION_KEY); needed only when the file has such a client. */
    encryptor?: KeyEncryptor | null;
    /** Where users' codes (`user_code`) are kept; needed only when the file sets one. */
    userCodes?: TypeOrmUserCodeStore | null;
  },
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
  // A jwks_uri is fetched by the provider: the same outbound policy as notification endpoints.
  for (const c of data.clients) {
    if (c.jwks_uri === undefined) continue;
    try {
      await deps.endpoints.check(c.jwks_uri);
    } catch (err) {
      problems.push(`${c.client_id}: jwks_uri ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const unsealable = data.clients.filter((c) => c.token_endpoint_auth_method === 'client_secret_jwt' && !deps.encryptor);
  if (unsealable.length > 0) problems.push(`${unsealable.map((c) => c.client_id).join(', ')}: client_secret_jwt needs CIBA_KEY_ENCRYPTION_KEY to seal the secret`);
  if (!deps.userCodes && data.users.some((u) => u.user_code !== undefined)) problems.push('user_code needs a user code store');
  if (problems.length > 0) throw new Error(`bootstrap: ${problems.join('; ')}`);

  let clientsWritten = 0;
  let clientsUnchanged = 0;
  for (const c of data.clients) {
    const existing = await deps.clients.findById(c.client_id);
    const client: Client = {
      clientId: c.client_id,
      clientName: c.client_name ?? c.client_id,
      clientSecretHash: await secretHash(c.client_secret, existing, deps.hasher),
      tokenEndpointAuthMethod: c.token_endpoint_auth_method,
      clientSecretSealed: c.token_endpoint_auth_method === 'client_secret_jwt' ? sealedSecret(c.client_id, c.client_secret ?? '', existing, deps.encryptor ?? null) : null,
      jwks: c.jwks ?? null,
      jwksUri: c.jwks_uri ?? null,
      tokenEndpointAuthSigningAlg: c.token_endpoint_auth_signing_alg ?? null,
      backchannelAuthenticationRequestSigningAlg: c.backchannel_authentication_request_signing_alg ?? null,
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
    const userWritten = !(existing && sameJson(existing, user));
    if (userWritten) await deps.users.upsert(user);
    const codeWritten = u.user_code !== undefined && deps.userCodes ? await setUserCode(u.sub, u.user_code, deps.userCodes, deps.hasher) : false;
    if (userWritten || codeWritten) usersWritten++;
    else usersUnchanged++;
  }
  return { clients: { written: clientsWritten, unchanged: clientsUnchanged }, users: { written: usersWritten, unchanged: usersUnchanged } };
}

/**
 * The stored hash: kept when it already verifies the file's secret (scrypt salts differ each time).
 * A private_key_jwt client has no secret: it gets the hash of a random one nobody knows, so HTTP Basic
 * (the device API) can never succeed for it, kept across loads so a reload changes nothing.
 */
async function secretHash(secret: string | undefined, existing: Client | null, hasher: SecretHasher): Promise<string> {
  if (secret === undefined) {
    const keep = existing !== null && existing.tokenEndpointAuthMethod === 'private_key_jwt';
    return keep ? existing.clientSecretHash : hasher.hash(randomBytes(32).toString('base64url'));
  }
  if (existing !== null && (await hasher.verify(secret, existing.clientSecretHash))) return existing.clientSecretHash;
  return hasher.hash(secret);
}

/**
 * CIBA §7.1: the user's code hashed (scrypt, as client secrets); a stored hash that already verifies
 * the file's code is kept (salts differ each time). True when the hash was written.
 */
async function setUserCode(sub: string, code: string, store: TypeOrmUserCodeStore, hasher: SecretHasher): Promise<boolean> {
  const stored = (await store.findHolder({ sub }))?.userCodeHash ?? null;
  if (stored !== null && (await hasher.verify(code, stored))) return false;
  return store.setUserCodeHash(sub, await hasher.hash(code));
}

/**
 * client_secret_jwt: the secret sealed (AES-GCM, bound to the client id), kept when the stored seal
 * already holds this secret (a new IV each time would otherwise rewrite the row on every load).
 */
function sealedSecret(clientId: string, secret: string, existing: Client | null, encryptor: KeyEncryptor | null): string {
  if (encryptor === null) throw new Error('bootstrap: client_secret_jwt needs CIBA_KEY_ENCRYPTION_KEY');
  const context = clientSecretSealingContext(clientId);
  if (existing?.clientSecretSealed) {
    try {
      if (encryptor.decrypt(existing.clientSecretSealed, context) === secret) return existing.clientSecretSealed;
    } catch {
      // Sealed under another key: seal again under this one.
    }
  }
  return encryptor.encrypt(secret, context);
}

/** Equal as JSON whatever the order of object members, at any depth (jsonb, e.g. a client's jwks, does not keep it). */
function sameJson(a: object, b: object): boolean {
  const norm = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(norm);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, norm(v)]));
  };
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
