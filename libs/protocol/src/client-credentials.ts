import { isUtf8 } from 'node:buffer';
import { JWT_BEARER_CLIENT_ASSERTION_TYPE } from './constants.js';
import { invalidClient, invalidRequest } from './errors.js';
import { type FormParams, PARAMETER_MAX_LENGTH } from './form-params.js';
import { hasControlCharacter } from './untrusted-text.js';

/** A client id and secret (RFC 6749 §2.3.1). */
export interface ClientSecretCredentials {
  readonly method: 'client_secret_basic' | 'client_secret_post';
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * A JWT client assertion (RFC 7521 §4.2, RFC 7523 §2.2), not yet verified. Whether it is
 * client_secret_jwt or private_key_jwt is for its algorithm to say, once the client is known.
 */
export interface ClientAssertionCredentials {
  readonly method: 'client_assertion';
  /** The client_id parameter, when sent: RFC 7521 §4.2 lets it accompany the assertion. */
  readonly clientIdParam: string | undefined;
  readonly assertion: string;
}

/**
 * RFC 8705 §2: the client_id alone, the credential being the mutual-TLS certificate (tls_client_auth
 * or self_signed_tls_client_auth, as the client registered); not yet verified.
 */
export interface TlsClientCertificateCredentials {
  readonly method: 'tls_client_certificate';
  readonly clientId: string;
}

export type ClientCredentials = ClientSecretCredentials | ClientAssertionCredentials | TlsClientCertificateCredentials;

/** A signed JWT can be long (an x5c header, many claims), but not this long: longer is not an assertion worth parsing. */
export const CLIENT_ASSERTION_MAX_LENGTH = 8192;
/**
 * JWS compact serialization: three base64url parts (RFC 7515 §7.1); a JWE or anything else is refused.
 * The signature may be empty here (an unsecured JWT): refusing `alg: none` is the verifier's job, where
 * the attempt is logged and counted like every other bad assertion.
 */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/**
 * Finds the client's credentials (RFC 6749 §2.3.1) without judging them: comparing the secret with
 * the stored hash happens in client authentication. Failures answered after an Authorization header
 * carry `WWW-Authenticate: Basic` (RFC 6749 §5.2). With `tlsClientAuth` (a certificate header is
 * configured), a client_id sent alone is RFC 8705 §2 mutual-TLS authentication.
 */
export function extractClientCredentials(
  authorizationHeader: string | undefined,
  params: FormParams,
  options: { readonly tlsClientAuth?: boolean } = {},
): ClientCredentials {
  if (authorizationHeader !== undefined && authorizationHeader !== '') {
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
    if (params.has('client_secret') || params.has('client_assertion')) throw invalidRequest('use one client authentication method, not both');
    const basic = decodeBasic(authorizationHeader);
    // A body client_id beside Basic is identification, not a second method (RFC 6749 §3.2.1), but it must agree.
    const bodyClientId = params.get('client_id');
    if (bodyClientId !== undefined && bodyClientId !== basic.clientId) {
      throw invalidRequest('client_id does not match the Authorization header');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (params.has('client_assertion') || params.has('client_assertion_type')) return clientAssertion(params);
  const clientId = params.get('client_id');
  const clientSecret = params.get('client_secret');
  if (clientId === undefined && clientSecret === undefined) throw invalidClient('client authentication is required');
  if (clientId === undefined) throw invalidClient('client_id is required with client_secret');
  // RFC 8705 §2: with mutual TLS on, a client_id without other credentials names a certificate-authenticated client.
  if (clientSecret === undefined) {
    if (options.tlsClientAuth === true) return { method: 'tls_client_certificate', clientId };
    throw invalidClient('client_secret is required');
  }
  return { method: 'client_secret_post', clientId, clientSecret };
}

/**
 * RFC 7521 §4.2: client_assertion_type and client_assertion together, with no second method beside
 * them. Anything wrong with the assertion itself is invalid_client (RFC 7521 §4.2.1).
 */
function clientAssertion(params: FormParams): ClientAssertionCredentials {
  // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
  if (params.has('client_secret')) throw invalidRequest('use one client authentication method, not both');
  const type = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (type === undefined || assertion === undefined) throw invalidClient('client_assertion and client_assertion_type go together');
  if (type !== JWT_BEARER_CLIENT_ASSERTION_TYPE) throw invalidClient('unsupported client_assertion_type');
  if (assertion.length > CLIENT_ASSERTION_MAX_LENGTH || !JWS_COMPACT.test(assertion)) throw invalidClient('malformed client_assertion');
  return { method: 'client_assertion', clientIdParam: params.get('client_id'), assertion };
}

/**
 * The client_id the request claims, for logs and audit before authentication has succeeded.
 * Never throws; `undefined` when no client can be named.
 */
export function clientIdFromRequest(authorizationHeader: string | undefined, params: FormParams): string | undefined {
  if (authorizationHeader !== undefined && authorizationHeader !== '') {
    try {
      return decodeBasic(authorizationHeader).clientId;
    } catch {
      return undefined;
    }
  }
  return params.get('client_id');
}

function decodeBasic(header: string): { clientId: string; clientSecret: string } {
  const match = BASIC.exec(header);
  if (!match) throw invalidClient('the Authorization header must use the Basic scheme with base64 credentials', 'Basic');
  const bytes = Buffer.from(match[1], 'base64');
  // toString would turn invalid UTF-8 into U+FFFD without a word.
  if (!isUtf8(bytes)) throw invalidClient('malformed Basic credentials', 'Basic');
  const decoded = bytes.toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('malformed Basic credentials', 'Basic');
  const clientId = formUrlDecode(decoded.slice(0, colon));
  const clientSecret = formUrlDecode(decoded.slice(colon + 1));
  if (clientId === undefined || clientSecret === undefined) throw invalidClient('malformed Basic credentials', 'Basic');
  if (clientId === '') throw invalidClient('client_id is missing from the Basic credentials', 'Basic');
  if (clientSecret === '') throw invalidClient('client_secret is missing from the Basic credentials', 'Basic');
  // The same bounds as the form parameters, checked before the client is looked up.
  if (unusable(clientId, PARAMETER_MAX_LENGTH['client_id']) || unusable(clientSecret, PARAMETER_MAX_LENGTH['client_secret'])) {
    throw invalidClient('malformed Basic credentials', 'Basic');
  }
  return { clientId, clientSecret };
}

function unusable(value: string, maxLength: number | null | undefined): boolean {
  return hasControlCharacter(value) || (typeof maxLength === 'number' && value.length > maxLength);
}

/** RFC 6749 §2.3.1 / Appendix B: both halves are application/x-www-form-urlencoded. */
function formUrlDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
