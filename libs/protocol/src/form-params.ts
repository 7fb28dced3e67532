import { invalidRequest } from './errors.js';
import { hasControlCharacter } from './untrusted-text.js';

/**
 * The longest value each parameter may have, in UTF-16 code units, checked before anything is
 * looked up; a longer value is `invalid_request`. `null`: the parameter's own rule decides
 * (binding_message, CIBA §13 `invalid_binding_message`; authorization_details, RFC 9396, 8 KB).
 */
export const PARAMETER_MAX_LENGTH: Readonly<Record<string, number | null>> = {
  client_id: 255,
  client_secret: 512,
  grant_type: 128,
  scope: 1024,
  acr_values: 1024,
  login_hint: 512,
  login_hint_token: 8192,
  id_token_hint: 8192,
  user_code: 256,
  requested_expiry: 16,
  // CIBA §7.1: "The length of the token MUST NOT exceed 1024 characters."
  client_notification_token: 1024,
  auth_req_id: 256,
  refresh_token: 256,
  // RFC 7662 / RFC 7009: an access token (a JWT that may carry 8 KB of authorization_details) or a refresh token.
  token: 16384,
  token_type_hint: 64,
  request: 8192,
  binding_message: null,
  authorization_details: null,
  // RFC 7523: a failure to authenticate is invalid_client, so the assertion's bounds are client authentication's.
  client_assertion: null,
  client_assertion_type: 128,
};
/** Any other parameter (ignored, but still bounded). */
export const DEFAULT_PARAMETER_MAX_LENGTH = 2048;

/**
 * Parameters whose value is text rather than an identifier, and may hold line breaks and tabs:
 * JSON text (authorization_details). binding_message has its own character rule.
 */
const TEXT_PARAMETERS: ReadonlySet<string> = new Set(['authorization_details']);
const OWN_CHARACTER_RULE: ReadonlySet<string> = new Set(['binding_message']);

/**
 * The parameters of one `application/x-www-form-urlencoded` request, after the duplicate check.
 *
 * Empty values are dropped on the way in: RFC 6749 §3.1 says "Parameters sent without a value MUST
 * be treated as if they were omitted from the request", so `get` never returns `''` and a required
 * parameter sent empty is reported as missing.
 */
export class FormParams {
  private readonly values: ReadonlyMap<string, string>;

  constructor(values: Iterable<readonly [string, string]>) {
    this.values = new Map([...values].filter(([, value]) => value !== ''));
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}

/**
 * Accepts what Express' urlencoded parser with `extended: false` (Node `querystring`) produces:
 * each value a string, or a string[] when the key was repeated. RFC 6749 §3.1: "Request and
 * response parameters MUST NOT be included more than once."
 */
export function parseFormParams(body: unknown): FormParams {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  }
  const entries: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw invalidRequest(`parameter ${printableName(name)} is repeated`);
    if (typeof value !== 'string') throw invalidRequest(`parameter ${printableName(name)} must be a string`);
    checkValue(name, value);
    entries.push([name, value]);
  }
  return new FormParams(entries);
}

/** Identifiers may hold no control character, text no control character but tab and line breaks; neither may be too long. */
function checkValue(name: string, value: string): void {
  if (hasControlCharacter(name)) throw invalidRequest('a parameter name contains a control character');
  const maxLength = Object.hasOwn(PARAMETER_MAX_LENGTH, name) ? PARAMETER_MAX_LENGTH[name] : DEFAULT_PARAMETER_MAX_LENGTH;
  if (maxLength !== null && value.length > maxLength) {
    throw invalidRequest(`parameter ${printableName(name)} must be at most ${maxLength} characters`);
  }
  if (!OWN_CHARACTER_RULE.has(name) && hasControlCharacter(value, TEXT_PARAMETERS.has(name))) {
    throw invalidRequest(`parameter ${printableName(name)} contains a control character`);
  }
}

/** Parameter names are echoed in descriptions, so keep them short and printable. */
function printableName(name: string): string {
  return /^[\w.:-]{1,64}$/.test(name) ? name : '(unnamed)';
}
