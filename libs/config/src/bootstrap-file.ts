import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import {
  CIBA_GRANT_TYPE,
  CLIENT_AUTH_METHODS,
  CLIENT_SECRET_JWT_ALGS,
  SIGNING_ALGS,
  TOKEN_DELIVERY_MODES,
  assertionAlgsFor,
  publicJwkSetProblem,
} from '@ciba/protocol';
import { NOTIFICATION_CHANNELS } from '@ciba/domain';

/**
 * The bootstrap file declares clients with RFC 7591 / CIBA registration metadata names and users
 * with OpenID Connect claim names. Loading it is idempotent (see the admin `bootstrap` command).
 */
const clientSchema = z
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
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.backchannel_token_delivery_mode !== 'poll' && !c.backchannel_client_notification_endpoint) {
      ctx.addIssue({ code: 'custom', message: 'backchannel_client_notification_endpoint is required for ping and push' });
    }
    clientAuthenticationProblems(c).forEach((message) => ctx.addIssue({ code: 'custom', message }));
  });

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
  if (method !== 'private_key_jwt') {
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
