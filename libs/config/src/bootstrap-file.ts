import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  CIBA_GRANT_TYPE,
  CLIENT_AUTH_METHODS,
  CLIENT_PROFILES,
  CLIENT_SECRET_JWT_ALGS,
  DISTINGUISHED_NAME_MAX_LENGTH,
  SIGNING_ALGS,
  SUBJECT_TYPES,
  TOKEN_DELIVERY_MODES,
  assertionAlgsFor,
  clientProfileProblems,
  parseRfc4514,
  publicJwkSetProblem,
  sectorIdentifierProblem,
  type SectorRegistration,
} from '@ciba/protocol';
import { NOTIFICATION_CHANNELS, usernameProblem } from '@ciba/domain';

/**
 * The bootstrap file declares clients with RFC 7591 / CIBA registration metadata names and users
 * with OpenID Connect claim names. Loading it is idempotent (see the admin `bootstrap` command).
 * The same fields and rules serve dynamic registration (RFC 7591 §2), see `clientMetadataSchema`.
 */
export const clientMetadataFields = z
  .object({
    client_id: z.string().min(1).max(255),
    /** Required but for private_key_jwt, whose clients prove themselves with their keys. */
    client_secret: z.string().min(8, 'client_secret must be at least 8 characters').optional(),
    client_name: z.string().min(1).max(255).optional(),
    token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).default('client_secret_basic'),
    grant_types: z.array(z.string().min(1)).default([CIBA_GRANT_TYPE]),
    scope: z.string().default('openid'),
    /** private_key_jwt (RFC 7591 §2): the client's public keys, inline… */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
    /** …or at an https URL (fetched under the outbound policy; exactly one of the two). */
    jwks_uri: z.string().url().optional(),
    /** OpenID Connect Dynamic Client Registration 1.0 §2: the only algorithm this client's assertions may use. */
    token_endpoint_auth_signing_alg: z.enum([...SIGNING_ALGS, ...CLIENT_SECRET_JWT_ALGS]).optional(),
    backchannel_token_delivery_mode: z.enum(TOKEN_DELIVERY_MODES).default('poll'),
    backchannel_client_notification_endpoint: z.string().url().optional(),
    backchannel_user_code_parameter: z.boolean().default(false),
    /**
     * CIBA §4: every authentication request must be a request object signed with this algorithm and
     * one of the client's registered keys (jwks or jwks_uri), whatever its authentication method.
     */
    backchannel_authentication_request_signing_alg: z.enum(SIGNING_ALGS).optional(),
    id_token_signed_response_alg: z.enum(SIGNING_ALGS).optional(),
    /** RFC 9396 §10: the authorization_details types this client may request; none by default. */
    authorization_details_types: z
      .array(z.string().min(1).max(255))
      .refine((list) => new Set(list).size === list.length, 'authorization_details_types lists a type twice')
      .default([]),
    /**
     * OpenID Connect Dynamic Client Registration 1.0 §2: acr values for requests that send none, in
     * order of preference. A passkey-level value (CIBA_PASSKEY_ACR_VALUES) makes them need a passkey.
     */
    default_acr_values: z
      .array(z.string().regex(/^[\x21-\x7E]{1,255}$/, 'default_acr_values entries are single ACR values (printable, no spaces)'))
      .refine((list) => new Set(list).size === list.length, 'default_acr_values lists a value twice')
      .default([]),
    /** A client profile the client is held to: `fapi-ciba` (FAPI-CIBA); see `clientProfileProblems`. */
    client_profile: z.enum(CLIENT_PROFILES).optional(),
    /** OpenID Connect Core §8: `pairwise` gives the client its sector's `sub` for each user (§8.1). */
    subject_type: z.enum(SUBJECT_TYPES).default('public'),
    /** OpenID Connect Core §8.1: an https JSON array of the client's URIs; its host is the client's sector (fetched at registration). */
    sector_identifier_uri: z.string().url().max(2048).optional(),
    /** RFC 8705 §2.1.2 tls_client_auth: exactly one of these names the certificate's subject. */
    tls_client_auth_subject_dn: z.string().min(1).max(DISTINGUISHED_NAME_MAX_LENGTH).optional(),
    tls_client_auth_san_dns: z.string().min(1).max(255).optional(),
    tls_client_auth_san_uri: z.string().url().max(2048).optional(),
    tls_client_auth_san_ip: z.string().refine((ip) => isIP(ip) !== 0, 'tls_client_auth_san_ip must be an IPv4 or IPv6 address').optional(),
    tls_client_auth_san_email: z.string().min(3).max(255).regex(/^[^@\s]+@[^@\s]+$/, 'tls_client_auth_san_email must be an email address').optional(),
    /** RFC 8705 §3: access tokens bound to the client's certificate (needs a certificate on every token request). */
    tls_client_certificate_bound_access_tokens: z.boolean().default(false),
    /** RFC 9449 §5.2: every token request of this client carries a DPoP proof, so every access token is DPoP-bound. */
    dpop_bound_access_tokens: z.boolean().default(false),
  });

/** The rules across fields, shared by the bootstrap file and dynamic registration. */
function refineClientMetadata(c: z.infer<typeof clientMetadataFields>, ctx: z.RefinementCtx): void {
  const sectorProblem = c.subject_type === 'pairwise' || c.sector_identifier_uri !== undefined ? sectorIdentifierProblem(sectorRegistrationOf(c)) : null;
  if (sectorProblem !== null) ctx.addIssue({ code: 'custom', message: sectorProblem });
  if (c.backchannel_token_delivery_mode !== 'poll' && !c.backchannel_client_notification_endpoint) {
    ctx.addIssue({ code: 'custom', message: 'backchannel_client_notification_endpoint is required for ping and push' });
  }
  clientAuthenticationProblems(c).forEach((message) => ctx.addIssue({ code: 'custom', message }));
  tlsClientAuthProblems(c).forEach((message) => ctx.addIssue({ code: 'custom', message }));
  clientProfileProblems(c).forEach((message) => ctx.addIssue({ code: 'custom', message }));
  // RFC 9449 §5.2: push mode tokens are delivered by the provider, with no request to carry a proof.
  if (c.dpop_bound_access_tokens && c.backchannel_token_delivery_mode === 'push') {
    ctx.addIssue({ code: 'custom', message: 'dpop_bound_access_tokens needs poll or ping: push mode tokens are delivered without a DPoP proof' });
  }
}

/** What of a client's metadata decides its pairwise sector (OpenID Connect Core §8.1), in the domain's names. */
export function sectorRegistrationOf(c: z.infer<typeof clientMetadataFields>): SectorRegistration {
  return {
    clientId: c.client_id,
    sectorIdentifierUri: c.sector_identifier_uri ?? null,
    backchannelTokenDeliveryMode: c.backchannel_token_delivery_mode,
    backchannelClientNotificationEndpoint: c.backchannel_client_notification_endpoint ?? null,
    tokenEndpointAuthMethod: c.token_endpoint_auth_method,
    jwksUri: c.jwks_uri ?? null,
    backchannelAuthenticationRequestSigningAlg: c.backchannel_authentication_request_signing_alg ?? null,
  };
}

/** A bootstrap client: strict, so an operator's typo in a field name is an error, not ignored. */
export const clientMetadataSchema = clientMetadataFields.strict().superRefine(refineClientMetadata);
/**
 * A dynamically registered client (RFC 7591 §2: the server ignores metadata it does not
 * understand): unknown members are dropped, never stored or echoed; the same rules otherwise.
 */
export const registrationMetadataSchema = clientMetadataFields.strip().superRefine(refineClientMetadata);
const clientSchema = clientMetadataSchema;

/** RFC 8705 §2.1.2: the names a tls_client_auth client may register its certificate's subject by. */
const TLS_CLIENT_AUTH_SUBJECT_FIELDS = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;

/**
 * RFC 8705 §2.1.2: a tls_client_auth client registers exactly one subject, and a DN that reads as
 * RFC 4514; no other method registers one. §2.2: a self_signed_tls_client_auth client registers
 * its certificates as the x5c of its keys (jwks, or jwks_uri), like a private_key_jwt client its keys.
 */
function tlsClientAuthProblems(c: z.infer<typeof clientMetadataFields>): string[] {
  const method = c.token_endpoint_auth_method;
  const subjects = TLS_CLIENT_AUTH_SUBJECT_FIELDS.filter((field) => c[field] !== undefined);
  const problems: string[] = [];
  if (method === 'tls_client_auth' && subjects.length !== 1) problems.push(`tls_client_auth needs exactly one of ${TLS_CLIENT_AUTH_SUBJECT_FIELDS.join(', ')}`);
  if (method !== 'tls_client_auth' && subjects.length > 0) problems.push(`${subjects.join(', ')}: only for tls_client_auth`);
  if (c.tls_client_auth_subject_dn !== undefined && parseRfc4514(c.tls_client_auth_subject_dn) === null) {
    problems.push('tls_client_auth_subject_dn must be an RFC 4514 distinguished name (e.g. CN=rp.example.com,O=Example,C=GB)');
  }
  // Push mode tokens leave the provider without any certificate to bind them to.
  if (c.tls_client_certificate_bound_access_tokens && c.backchannel_token_delivery_mode === 'push') {
    problems.push('tls_client_certificate_bound_access_tokens needs the poll or ping mode (push tokens are delivered without a client certificate)');
  }
  if (method === 'self_signed_tls_client_auth') {
    if ((c.jwks === undefined) === (c.jwks_uri === undefined)) problems.push('self_signed_tls_client_auth needs exactly one of jwks and jwks_uri');
    if (c.jwks !== undefined && !c.jwks.keys.some((key) => Array.isArray(key['x5c']) && key['x5c'].length > 0)) {
      problems.push('self_signed_tls_client_auth needs jwks keys with the certificate in x5c');
    }
  }
  return problems;
}

/**
 * The registration each token_endpoint_auth_method needs: a secret for the secret methods (at
 * least 32 characters for client_secret_jwt, RFC 7518 §3.2: an HMAC key as long as its hash),
 * exactly one of jwks (public keys only) and jwks_uri (https) for private_key_jwt, and a signing
 * algorithm that belongs to the method. A client of another method may register public keys too
 * (at most one of the two), to sign its authentication requests (CIBA §7.1.1), and must when it
 * registers backchannel_authentication_request_signing_alg.
 */
function clientAuthenticationProblems(c: {
  token_endpoint_auth_method: (typeof CLIENT_AUTH_METHODS)[number];
  client_secret?: string | undefined;
  jwks?: unknown;
  jwks_uri?: string | undefined;
  token_endpoint_auth_signing_alg?: string | undefined;
  backchannel_authentication_request_signing_alg?: string | undefined;
}): string[] {
  const method = c.token_endpoint_auth_method;
  const problems: string[] = [];
  const hasKeys = c.jwks !== undefined || c.jwks_uri !== undefined;
  if (method === 'private_key_jwt' && (c.jwks === undefined) === (c.jwks_uri === undefined)) problems.push('private_key_jwt needs exactly one of jwks and jwks_uri');
  if (method !== 'private_key_jwt' && c.jwks !== undefined && c.jwks_uri !== undefined) problems.push('register at most one of jwks and jwks_uri');
  if (c.backchannel_authentication_request_signing_alg !== undefined && !hasKeys) {
    problems.push('backchannel_authentication_request_signing_alg needs the public keys the requests are verified with (jwks or jwks_uri)');
  }
  if (c.jwks !== undefined) {
    const problem = publicJwkSetProblem(c.jwks);
    if (problem !== null) problems.push(`jwks ${problem}`);
  }
  if (c.jwks_uri !== undefined && !c.jwks_uri.startsWith('https://')) problems.push('jwks_uri must use https');
  // RFC 8705 §2: the mutual-TLS methods prove the client with its certificate, not a secret.
  if (method !== 'private_key_jwt' && method !== 'tls_client_auth' && method !== 'self_signed_tls_client_auth') {
    if (c.client_secret === undefined) problems.push(`client_secret is required for ${method}`);
    if (method === 'client_secret_jwt' && c.client_secret !== undefined && c.client_secret.length < 32) {
      problems.push('client_secret must be at least 32 characters for client_secret_jwt');
    }
  }
  const alg = c.token_endpoint_auth_signing_alg;
  if (alg !== undefined) {
    if (method !== 'private_key_jwt' && method !== 'client_secret_jwt') problems.push(`token_endpoint_auth_signing_alg is for client_secret_jwt and private_key_jwt, not ${method}`);
    else if (!assertionAlgsFor(method).includes(alg)) problems.push(`token_endpoint_auth_signing_alg ${alg} does not fit ${method}`);
  }
  return problems;
}

const userSchema = z
  .object({
    sub: z.string().min(1).max(255),
    name: z.string().optional(),
    email: z.string().email().optional(),
    email_verified: z.boolean().default(false),
    phone_number: z.string().regex(/^\+?[0-9 ()-]{3,32}$/, 'phone_number must be E.164-like').optional(),
    phone_number_verified: z.boolean().default(false),
    /** A login_hint form (CIBA §7.1), unique case-insensitively; no `@`, no leading `+` or `tel:`. */
    preferred_username: z
      .string()
      .superRefine((name, ctx) => {
        const problem = usernameProblem(name);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: `preferred_username ${problem}` });
      })
      .optional(),
    /** Ordered channels to reach this user (device-push, email, sms, http); absent follows CIBA_CHANNEL_PREFERENCE. */
    channel_preference: z
      .array(z.enum(NOTIFICATION_CHANNELS))
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'channel_preference lists a channel twice')
      .optional(),
    /**
     * CIBA §7.1: the user's secret code (a PIN or password), hashed on load and never stored as
     * given; absent leaves a code set earlier (`ciba-admin users set-code`) as it is.
     */
    user_code: z
      .string()
      .min(4, 'user_code must be at least 4 characters')
      .max(256)
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'user_code must not contain control characters')
      .optional(),
  })
  .strict();

const fileSchema = z
  .object({
    clients: z.array(clientSchema).default([]),
    users: z.array(userSchema).default([]),
  })
  .strict();

export type BootstrapClient = z.infer<typeof clientSchema>;
export type BootstrapUser = z.infer<typeof userSchema>;
export type BootstrapData = z.infer<typeof fileSchema>;

export function parseBootstrap(json: unknown, source = 'bootstrap file'): BootstrapData {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`${source} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const ids = parsed.data.clients.map((c) => c.client_id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`${source} is invalid: client_id ${dup} appears twice`);
  const subs = parsed.data.users.map((u) => u.sub);
  const dupSub = subs.find((s, i) => subs.indexOf(s) !== i);
  if (dupSub) throw new Error(`${source} is invalid: a user sub appears twice`);
  // A username is unique, and never another user's sub: a login_hint naming both would name nobody.
  const usernames = parsed.data.users.flatMap((u) => (u.preferred_username === undefined ? [] : [{ sub: u.sub, name: u.preferred_username.toLowerCase() }]));
  if (new Set(usernames.map((u) => u.name)).size !== usernames.length) throw new Error(`${source} is invalid: a preferred_username appears twice (compared case-insensitively)`);
  if (usernames.some((u) => subs.some((sub) => sub !== u.sub && sub.toLowerCase() === u.name))) {
    throw new Error(`${source} is invalid: a preferred_username is another user's sub`);
  }
  return parsed.data;
}

export async function readBootstrapFile(path: string): Promise<BootstrapData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read bootstrap file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`bootstrap file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return parseBootstrap(json, path);
}
