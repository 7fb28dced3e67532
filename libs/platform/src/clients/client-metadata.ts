import { randomBytes } from 'node:crypto';
import type { BootstrapClient } from '@ciba/config';
import type { Client, TlsClientAuthSubject } from '@ciba/domain';
import type { EndpointPolicy } from '@ciba/outbound';
import type { SigningAlg } from '@ciba/protocol';
import { type KeyEncryptor, type SecretHasher, clientSecretSealingContext } from '@ciba/tokens';
import { type SectorIdentifierDocuments, sectorIdentifierDocuments, sectorIdentifierUriProblem } from './sector-identifier.js';

/**
 * One client's registration metadata, as the bootstrap file and dynamic registration (RFC 7591)
 * both give it: the zod schema (`clientMetadataSchema`, `registrationMetadataSchema`) checks each
 * field and the rules across fields; this module adds the checks that need the provider (its keys,
 * the outbound policy, its key encryption key) and builds the domain `Client`.
 */
export type ClientMetadata = BootstrapClient;

/** A problem with one metadata field: `field` is the RFC 7591 / CIBA name, `message` what is wrong. */
export interface ClientMetadataProblem {
  readonly field: string;
  readonly message: string;
}

export interface ClientMetadataChecks {
  /** The algorithms the provider signs ID tokens with (CIBA_SIGNING_ALGS). */
  readonly signingAlgs: readonly SigningAlg[];
  /** The outbound policy for notification endpoints and jwks_uri (HTTPS, SSRF ranges). */
  readonly endpoints: EndpointPolicy;
  /** Seals client_secret_jwt secrets (CIBA_KEY_ENCRYPTION_KEY); without it such a client is refused. */
  readonly encryptor?: KeyEncryptor | null;
  /** Fetches sector_identifier_uri documents (OpenID Connect Core §8.1); default: under `endpoints`, without extra CA. */
  readonly sectorDocuments?: SectorIdentifierDocuments;
}

/** The checks on one client's metadata that need the provider; empty when it can be registered. */
export async function clientMetadataProblems(c: ClientMetadata, deps: ClientMetadataChecks): Promise<ClientMetadataProblem[]> {
  const problems: ClientMetadataProblem[] = [];
  // A client's ID tokens are signed with the algorithm it registered, which needs an active key: a
  // client asking for one the provider does not sign with would receive no tokens, so say so now
  // rather than at its first token.
  const idTokenAlg = c.id_token_signed_response_alg;
  if (idTokenAlg !== undefined && !deps.signingAlgs.includes(idTokenAlg)) {
    problems.push({ field: 'id_token_signed_response_alg', message: `${idTokenAlg} is not an algorithm this provider signs with (CIBA_SIGNING_ALGS: ${deps.signingAlgs.join(' ')})` });
  }
  // CIBA §4: ping and push clients register an HTTPS notification endpoint. The same SSRF policy as
  // delivery: an endpoint resolving to a private, loopback or metadata address is refused now.
  const endpoint = c.backchannel_client_notification_endpoint;
  if (c.backchannel_token_delivery_mode !== 'poll' && endpoint !== undefined) {
    const problem = await endpointProblem(endpoint, deps.endpoints);
    if (problem !== null) problems.push({ field: 'backchannel_client_notification_endpoint', message: problem });
  }
  // A jwks_uri is fetched by the provider: the same outbound policy as notification endpoints.
  if (c.jwks_uri !== undefined) {
    const problem = await endpointProblem(c.jwks_uri, deps.endpoints);
    if (problem !== null) problems.push({ field: 'jwks_uri', message: problem });
  }
  if (c.sector_identifier_uri !== undefined) {
    const problem = await sectorIdentifierUriProblem(c, deps.sectorDocuments ?? sectorIdentifierDocuments(deps.endpoints));
    if (problem !== null) problems.push({ field: 'sector_identifier_uri', message: problem });
  }
  if (c.token_endpoint_auth_method === 'client_secret_jwt' && !deps.encryptor) {
    problems.push({ field: 'token_endpoint_auth_method', message: 'client_secret_jwt needs CIBA_KEY_ENCRYPTION_KEY to seal the secret' });
  }
  return problems;
}

async function endpointProblem(url: string, policy: EndpointPolicy): Promise<string | null> {
  try {
    await policy.check(url);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * The domain client for checked metadata. `existing` is the stored client of the same id, if any:
 * its secret hash and seal are kept when they still hold the given secret, so loading the same
 * metadata again writes nothing. With `keepStoredSecret` they are kept whatever the metadata says
 * (a registration update: the secret was issued once and is not sent again).
 */
export async function buildClient(
  c: ClientMetadata,
  existing: Client | null,
  deps: { readonly hasher: SecretHasher; readonly encryptor?: KeyEncryptor | null },
  options: { readonly keepStoredSecret?: boolean } = {},
): Promise<Client> {
  const kept = options.keepStoredSecret && existing !== null ? existing : null;
  return {
    clientId: c.client_id,
    clientName: c.client_name ?? c.client_id,
    clientSecretHash: kept ? kept.clientSecretHash : await secretHash(c.client_secret, existing, deps.hasher),
    tokenEndpointAuthMethod: c.token_endpoint_auth_method,
    clientSecretSealed: kept
      ? kept.clientSecretSealed
      : c.token_endpoint_auth_method === 'client_secret_jwt'
        ? sealedSecret(c.client_id, c.client_secret ?? '', existing, deps.encryptor ?? null)
        : null,
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
    clientProfile: c.client_profile ?? null,
    subjectType: c.subject_type,
    sectorIdentifierUri: c.sector_identifier_uri ?? null,
    ...tlsClientAuthMetadata(c),
    ...(c.dpop_bound_access_tokens ? { dpopBoundAccessTokens: true } : {}),
  };
}

/** RFC 8705 metadata, on the client only when set (as the persistence mapper gives it back). */
function tlsClientAuthMetadata(c: ClientMetadata): Pick<Client, 'tlsClientAuthSubject' | 'tlsClientCertificateBoundAccessTokens'> {
  const subjects: [TlsClientAuthSubject['kind'], string | undefined][] = [
    ['subject_dn', c.tls_client_auth_subject_dn],
    ['san_dns', c.tls_client_auth_san_dns],
    ['san_uri', c.tls_client_auth_san_uri],
    ['san_ip', c.tls_client_auth_san_ip],
    ['san_email', c.tls_client_auth_san_email],
  ];
  const subject = subjects.find(([, value]) => value !== undefined);
  return {
    ...(c.token_endpoint_auth_method === 'tls_client_auth' && subject !== undefined ? { tlsClientAuthSubject: { kind: subject[0], value: subject[1] as string } } : {}),
    ...(c.tls_client_certificate_bound_access_tokens ? { tlsClientCertificateBoundAccessTokens: true } : {}),
  };
}

/**
 * The stored hash: kept when it already verifies the given secret (scrypt salts differ each time).
 * A private_key_jwt client has no secret: it gets the hash of a random one nobody knows, so HTTP Basic
 * (the device API) can never succeed for it, kept across loads so a reload changes nothing.
 */
async function secretHash(secret: string | undefined, existing: Client | null, hasher: SecretHasher): Promise<string> {
  if (secret === undefined) {
    const keep = existing !== null && ['private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth'].includes(existing.tokenEndpointAuthMethod);
    return keep ? existing.clientSecretHash : hasher.hash(randomBytes(32).toString('base64url'));
  }
  if (existing !== null && (await hasher.verify(secret, existing.clientSecretHash))) return existing.clientSecretHash;
  return hasher.hash(secret);
}

/**
 * client_secret_jwt: the secret sealed (AES-GCM, bound to the client id), kept when the stored seal
 * already holds this secret (a new IV each time would otherwise rewrite the row on every load).
 */
function sealedSecret(clientId: string, secret: string, existing: Client | null, encryptor: KeyEncryptor | null): string {
  if (encryptor === null) throw new Error('client_secret_jwt needs CIBA_KEY_ENCRYPTION_KEY');
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
