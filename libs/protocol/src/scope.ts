import { invalidRequest } from './errors.js';

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * Splits a space-delimited list, dropping empty entries and duplicates, keeping first-seen order.
 * Used for `scope` and `acr_values`.
 */
export function splitSpaceDelimited(value: string): string[] {
  return [...new Set(value.split(' ').filter((item) => item !== ''))];
}

/** RFC 6749 §3.3 scope syntax; a malformed value is invalid_request. */
export function parseScope(value: string): string[] {
  const scope = splitSpaceDelimited(value);
  if (scope.length === 0 || !scope.every((token) => SCOPE_TOKEN.test(token))) throw invalidRequest('scope is malformed');
  return scope;
}
