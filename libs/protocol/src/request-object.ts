import { SIGNING_ALGS, type SigningAlg } from './constants.js';
import { OAuthError, invalidRequest } from './errors.js';
import { type FormParams, PARAMETER_MAX_LENGTH, parseFormParams } from './form-params.js';

/**
 * CIBA Core 1.0 §7.1.1 signed authentication requests. The request object is verified with the
 * client's registered public keys only (private_key_jwt key material: `jwks` or `jwks_uri`), so
 * the algorithms are the provider's asymmetric ones; HMAC with a client secret is not accepted
 * (FAPI-CIBA §5.2.2 asks for PS256 or ES256, and a shared secret would let the provider forge
 * the client's requests). `none` is never one of them.
 */
export const REQUEST_OBJECT_ALGS: readonly SigningAlg[] = SIGNING_ALGS;

/** The form parameter's bound (characters of the compact JWS); the same number guards direct callers. */
export const REQUEST_OBJECT_MAX_LENGTH = PARAMETER_MAX_LENGTH['request'] as number;

/** FAPI-CIBA §5.2.2 / FAPI 1.0 Advanced §5.2.2: exp at most 60 minutes after nbf (and iat); nbf at most 60 minutes old. */
export const REQUEST_OBJECT_MAX_LIFETIME_SECONDS = 3600;

/** The jti is the client's text: bounded like any identifier it sends. */
const JTI_MAX_LENGTH = 255;

/** The JWT claims of the object itself: not authentication request parameters (CIBA §7.1.1). */
const JWT_CLAIMS: ReadonlySet<string> = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti', 'sub']);

/** Client authentication stays outside the object (§7.1.1); inside, these are ignored. */
const CLIENT_AUTHENTICATION_PARAMETERS: ReadonlySet<string> = new Set(['client_id', 'client_secret', 'client_assertion', 'client_assertion_type']);

/** Claims that are JSON rather than text: RFC 9396 authorization_details is an array in a request object. */
const JSON_VALUED: ReadonlySet<string> = new Set(['authorization_details']);

export interface RequestObjectExpectations {
  readonly clientId: string;
  /** The provider's issuer and the backchannel authentication endpoint's URL: aud must name one of them. */
  readonly audiences: readonly string[];
  readonly nowSeconds: number;
  readonly clockSkewSeconds: number;
}

export interface CheckedRequestObjectClaims {
  readonly jti: string;
  readonly exp: number;
}

/**
 * CIBA §7.1.1 / §7.1.1's client-registered alg: whether `alg` may sign this client's request
 * object. `registered` is the client's backchannel_authentication_request_signing_alg (null: any
 * supported one). Throws invalid_request naming the algorithm rule that failed.
 */
export function checkRequestObjectAlg(alg: unknown, registered: string | null): SigningAlg {
  if (alg === 'none') throw invalidRequest('the request object must be signed: alg none is not allowed');
  if (typeof alg !== 'string' || !(REQUEST_OBJECT_ALGS as readonly string[]).includes(alg)) {
    throw invalidRequest(`the request object's alg must be one of ${REQUEST_OBJECT_ALGS.join(', ')}`);
  }
  if (registered !== null && alg !== registered) {
    throw invalidRequest(`the request object's alg must be ${registered}, as registered for this client`);
  }
  return alg as SigningAlg;
}

/**
 * A client registered with backchannel_authentication_request_signing_alg must send its requests
 * signed (CIBA §4, "the Client MUST use this algorithm"); an unsigned request is invalid_request.
 */
export function checkSignedRequestRequired(params: FormParams, registered: string | null): void {
  if (registered !== null && !params.has('request')) {
    throw invalidRequest(`this client must send a signed authentication request (the request parameter, alg ${registered})`);
  }
}

function numericClaim(payload: Readonly<Record<string, unknown>>, name: string): number {
  const value = payload[name];
  if (value === undefined) throw invalidRequest(`the request object's ${name} is missing`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidRequest(`the request object's ${name} must be a NumericDate`);
  return value;
}

/**
 * CIBA §7.1.1: iss, aud, exp, iat, nbf and jti are required; FAPI-CIBA §5.2.2 bounds the lifetime.
 * Pure: the caller supplies the time. Each failure is invalid_request naming the claim; values the
 * client sent are not echoed.
 */
export function checkRequestObjectClaims(
  payload: Readonly<Record<string, unknown>>,
  expected: RequestObjectExpectations,
): CheckedRequestObjectClaims {
  const { nowSeconds: now, clockSkewSeconds: skew } = expected;
  const maxLifetime = REQUEST_OBJECT_MAX_LIFETIME_SECONDS;

  if (payload['iss'] === undefined) throw invalidRequest("the request object's iss is missing");
  if (payload['iss'] !== expected.clientId) throw invalidRequest("the request object's iss must be the client's client_id");

  const aud = payload['aud'];
  if (aud === undefined) throw invalidRequest("the request object's aud is missing");
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.some((value) => typeof value === 'string' && expected.audiences.includes(value))) {
    throw invalidRequest("the request object's aud must be the issuer or the backchannel authentication endpoint URL");
  }

  const exp = numericClaim(payload, 'exp');
  const iat = numericClaim(payload, 'iat');
  const nbf = numericClaim(payload, 'nbf');
  // The ages first: an old object is also expired, and the answer should name the first cause.
  if (iat > now + skew) throw invalidRequest("the request object's iat is in the future");
  if (now - iat > maxLifetime + skew) throw invalidRequest("the request object's iat is more than 60 minutes old");
  if (nbf > now + skew) throw invalidRequest("the request object's nbf is in the future");
  if (now - nbf > maxLifetime + skew) throw invalidRequest("the request object's nbf is more than 60 minutes old");
  if (exp <= now - skew) throw invalidRequest('the request object has expired (exp)');
  if (exp - iat > maxLifetime) throw invalidRequest("the request object's exp is more than 60 minutes after its iat");
  if (exp - nbf > maxLifetime) throw invalidRequest("the request object's exp is more than 60 minutes after its nbf");

  const jti = payload['jti'];
  if (jti === undefined) throw invalidRequest("the request object's jti is missing");
  if (typeof jti !== 'string' || jti === '' || jti.length > JTI_MAX_LENGTH) {
    throw invalidRequest(`the request object's jti must be a non-empty string of at most ${JTI_MAX_LENGTH} characters`);
  }
  return { jti, exp };
}

/**
 * CIBA §7.1.1: "the authentication request parameters ... MUST be included in the signed request
 * object as claims" and only those are used; the JWT claims and client authentication are not
 * request parameters. Each claim becomes the parameter it names, under the same length and
 * character rules as a form parameter. requested_expiry may be a JSON number (§7.1.1 allows it)
 * and authorization_details is a JSON array (RFC 9396 §3); any other claim must be a string.
 */
export function requestObjectParams(payload: Readonly<Record<string, unknown>>): FormParams {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (JWT_CLAIMS.has(name) || CLIENT_AUTHENTICATION_PARAMETERS.has(name)) continue;
    if (typeof value === 'string') values[name] = value;
    else if (name === 'requested_expiry' && typeof value === 'number' && Number.isSafeInteger(value)) values[name] = String(value);
    else if (JSON_VALUED.has(name) && typeof value === 'object' && value !== null) values[name] = JSON.stringify(value);
    else throw invalidRequest(`the request object's ${printableClaim(name)} claim must be a string`);
  }
  try {
    return parseFormParams(values);
  } catch (error) {
    // The rule's own wording says "parameter"; here it is a claim of the object.
    if (error instanceof OAuthError) throw invalidRequest(`in the request object: ${error.description}`);
    throw error;
  }
}

function printableClaim(name: string): string {
  return /^[\w.:-]{1,64}$/.test(name) ? name : '(unnamed)';
}
