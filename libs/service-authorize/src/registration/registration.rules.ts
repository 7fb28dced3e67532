import { randomBytes, timingSafeEqual } from 'node:crypto';
import { registrationTokenDigest } from '@ciba/config';
import { OAuthError, authorizationToken } from '@ciba/protocol';

/**
 * The protocol rules of the registration endpoint (RFC 7591 §3) and the client configuration
 * endpoint (RFC 7592 §2), free of HTTP and storage.
 */

/** Longer than any token this provider issues or accepts; a longer one is refused before any work. */
const MAX_TOKEN_LENGTH = 512;

/**
 * RFC 6750 §3 as RFC 7591 §3 and RFC 7592 §2 ask: 401 with a `WWW-Authenticate: Bearer` challenge.
 * `error` null: no token was sent at all (§3.1: no error code then).
 */
export function registrationTokenError(error: 'invalid_token' | 'invalid_request' | null, description: string): OAuthError {
  const attributes = ['realm="ciba"'];
  if (error !== null) attributes.push(`error="${error}"`, `error_description="${description}"`);
  return new OAuthError(error ?? 'invalid_token', description, { status: error === 'invalid_request' ? 400 : 401, headers: { 'WWW-Authenticate': `Bearer ${attributes.join(', ')}` } });
}

/** The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1), the only place it is taken from. */
export function bearerTokenOf(authorization: string | undefined, what: string): string {
  const presented = authorizationToken(authorization, ['Bearer'] as const);
  if (presented.kind === 'absent') throw registrationTokenError(null, `${what} is required (Authorization: Bearer)`);
  if (presented.kind === 'malformed' || presented.token.length > MAX_TOKEN_LENGTH) {
    throw registrationTokenError('invalid_request', `the Authorization header must be "Bearer <${what}>"`);
  }
  return presented.token;
}

/** The digest initial and registration access tokens are compared and stored as (one definition, with the configuration's). */
export const tokenDigest = registrationTokenDigest;

/** Whether `digest` is one of `digests`, in time independent of where (or whether) it matches. */
export function digestMatchesAny(digest: string, digests: readonly string[]): boolean {
  const presented = Buffer.from(digest);
  let matched = false;
  for (const candidate of digests) {
    const stored = Buffer.from(candidate);
    matched = (stored.length === presented.length && timingSafeEqual(stored, presented)) || matched;
  }
  return matched;
}

/** RFC 7591 §3.2.2: a metadata value that cannot be registered, named in the description. */
export function invalidClientMetadata(description: string): OAuthError {
  return new OAuthError('invalid_client_metadata', description);
}

/** A new client identifier (RFC 7591 §3.2.1): random, never reused, unguessable. */
export function newClientId(): string {
  return randomBytes(18).toString('base64url');
}

/** 256 random bits: a client secret (RFC 7591 §3.2.1) or a registration access token (RFC 7592 §3). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The methods whose clients hold a secret the provider issues (at least 32 characters, also for client_secret_jwt). */
export const SECRET_AUTH_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'];

/**
 * RFC 7591 §2 / RFC 7592 §2.2: members of a registration or update request that are not client
 * metadata the client may choose. `client_id` and `client_secret` are assigned by the provider (an
 * update's are compared with them); the others are what a response carried, which a client may
 * send back in an update: they are set aside, never stored.
 */
export const SERVER_ASSIGNED_MEMBERS = ['client_id', 'client_secret', 'client_id_issued_at', 'client_secret_expires_at', 'registration_access_token', 'registration_client_uri'] as const;

/** Bidirectional-text controls: a client name shown to users must read as it is stored. */
const BIDI_CONTROL = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
/** Control characters (Cc). */
const CONTROL = /\p{Cc}/u;

/** Text a user will read (the client name on the approval page and in messages): no control or bidi characters. */
export function displayTextProblem(value: string): string | null {
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (BIDI_CONTROL.test(value)) return 'must not contain bidirectional text controls';
  return null;
}
