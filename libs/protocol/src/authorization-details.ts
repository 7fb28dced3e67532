import { OAuthError } from './errors.js';
import { jsonValueProblem } from './untrusted-text.js';

/**
 * RFC 9396 §2: one authorization details object. `type` is REQUIRED; every other field is defined
 * by the type, except the common fields of §2.2 whose shapes are fixed for all types.
 */
export type AuthorizationDetail = Readonly<Record<string, unknown>> & { readonly type: string };

/** Bounds on what a client may send: the details are stored, shown to the user and put in tokens. */
export const AUTHORIZATION_DETAILS_MAX_BYTES = 8192;
export const AUTHORIZATION_DETAILS_MAX_ENTRIES = 10;

/** RFC 9396 §2.2 common data fields and the JSON shape each must have when present. */
const COMMON_FIELDS: readonly { readonly name: string; readonly ok: (value: unknown) => boolean; readonly expected: string }[] = [
  { name: 'locations', ok: isStringArray, expected: 'an array of strings' },
  { name: 'actions', ok: isStringArray, expected: 'an array of strings' },
  { name: 'datatypes', ok: isStringArray, expected: 'an array of strings' },
  { name: 'identifier', ok: (value) => typeof value === 'string', expected: 'a string' },
  { name: 'privileges', ok: isStringArray, expected: 'an array of strings' },
];

const invalid = (description: string): OAuthError => new OAuthError('invalid_authorization_details', description);

/**
 * Parses and checks an `authorization_details` request parameter (RFC 9396 §2, §5) against the
 * types the client registered (§10 `authorization_details_types`). The rules run in order and the
 * first failure is the answer, always `invalid_authorization_details`:
 *
 * 1. the client registered no type at all;
 * 2. the parameter is larger than {@link AUTHORIZATION_DETAILS_MAX_BYTES} (checked before parsing);
 * 3. it is not JSON, or holds a string with a control character other than tab and line breaks,
 *    an unpaired surrogate, or nesting deeper than 32 levels; 4. not an array; 5. an empty array; 6. more than
 *    {@link AUTHORIZATION_DETAILS_MAX_ENTRIES} entries;
 * 7. per entry: not an object; no string `type`; a `type` the client did not register; a §2.2
 *    common field of the wrong shape.
 *
 * Type-specific fields are passed through unchecked: the provider has no schema for the types its
 * clients register, it relays them to the user and into the access token.
 */
export function parseAuthorizationDetails(raw: string, registeredTypes: readonly string[]): AuthorizationDetail[] {
  if (registeredTypes.length === 0) throw invalid('this client is not registered for any authorization_details type');
  if (new TextEncoder().encode(raw).length > AUTHORIZATION_DETAILS_MAX_BYTES) {
    throw invalid(`authorization_details must be at most ${AUTHORIZATION_DETAILS_MAX_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('authorization_details must be valid JSON');
  }
  // Escapes such as \u0000 parse, but PostgreSQL's jsonb refuses them (and the user would be shown them).
  const problem = jsonValueProblem(parsed);
  if (problem !== null) throw invalid(`authorization_details ${problem}`);
  if (!Array.isArray(parsed)) throw invalid('authorization_details must be a JSON array of objects');
  if (parsed.length === 0) throw invalid('authorization_details must not be an empty array');
  if (parsed.length > AUTHORIZATION_DETAILS_MAX_ENTRIES) {
    throw invalid(`authorization_details must have at most ${AUTHORIZATION_DETAILS_MAX_ENTRIES} entries`);
  }
  return parsed.map((entry: unknown, index) => checkEntry(entry, `authorization_details[${index}]`, registeredTypes));
}

function checkEntry(entry: unknown, where: string, registeredTypes: readonly string[]): AuthorizationDetail {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(`${where} must be a JSON object`);
  const detail = entry as Record<string, unknown>;
  const type = detail['type'];
  if (typeof type !== 'string' || type === '') throw invalid(`${where} must have a type, a non-empty string`);
  if (!registeredTypes.includes(type)) {
    throw invalid(`${where} has type ${printable(type)}, which is not registered for this client`);
  }
  for (const field of COMMON_FIELDS) {
    if (Object.hasOwn(detail, field.name) && !field.ok(detail[field.name])) throw invalid(`${where}.${field.name} must be ${field.expected}`);
  }
  return detail as AuthorizationDetail;
}

/** The distinct types of some authorization details, in order of first appearance. */
export function authorizationDetailsTypes(details: readonly Readonly<Record<string, unknown>>[] | null): string[] {
  if (details === null) return [];
  return [...new Set(details.flatMap((detail) => (typeof detail['type'] === 'string' ? [detail['type']] : [])))];
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * A type echoed in an error description. RFC 6749 §5.2 limits error_description to printable ASCII
 * without `"` and `\`; anything else (or anything long) is not repeated back.
 */
function printable(type: string): string {
  return /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/.test(type) ? `'${type}'` : '(not shown)';
}
