import { normalisePhoneNumber } from './user.js';

/**
 * The forms a login_hint (CIBA §7.1) may take: the user's `sub`, email address, phone number, or
 * username (the `preferred_username` claim). A deployment accepts some or all of them.
 */
export const LOGIN_HINT_FORMS = ['sub', 'email', 'phone', 'username'] as const;
export type LoginHintForm = (typeof LOGIN_HINT_FORMS)[number];

/** Longer than any identifier, address or number a user has; a longer hint is refused unread. */
export const LOGIN_HINT_MAX_LENGTH = 512;

/** E.164: a `+`, then at most 15 digits (country code included). */
const E164 = /^\+[0-9]{3,15}$/;
/** RFC 3966 global-number-digits: `+`, then digits and visual separators; no parameters accepted. */
const TEL_URI = /^tel:(\+[0-9().-]+)$/i;

/**
 * What a login_hint is looked up as: the value to compare (a phone number in its E.164 form) and
 * the user columns compared, decided from the hint's syntax alone and before any lookup:
 *
 * 1. `tel:` (RFC 3966 global number) or a leading `+` (E.164): a phone number, only;
 * 2. an `@`: an email address, only;
 * 3. anything else: a `sub` (exact) or a username (case-insensitive), whichever the deployment
 *    accepts. Should one user's sub be another's username, the hint names nobody: never a guess.
 *
 * So a hint matches one kind of column, and a hint that looks like an email is never a sub.
 */
export type LoginHintLookup =
  | { readonly ok: true; readonly value: string; readonly forms: readonly LoginHintForm[] }
  | { readonly ok: false; readonly problem: 'empty' | 'too_long' | 'malformed_phone' | 'form_not_accepted'; readonly form: LoginHintForm | null };

export function loginHintLookup(hint: string, accepted: readonly LoginHintForm[] = LOGIN_HINT_FORMS): LoginHintLookup {
  if (hint.length > LOGIN_HINT_MAX_LENGTH) return { ok: false, problem: 'too_long', form: null };
  const value = hint.trim();
  if (value === '') return { ok: false, problem: 'empty', form: null };
  const tel = TEL_URI.exec(value);
  if (tel !== null || value.startsWith('+') || /^tel:/i.test(value)) {
    const number = tel === null ? normalisePhoneNumber(value) : normalisePhoneNumber(tel[1]);
    if (!E164.test(number)) return { ok: false, problem: 'malformed_phone', form: 'phone' };
    return only('phone', number, accepted);
  }
  if (value.includes('@')) return only('email', value, accepted);
  const forms = LOGIN_HINT_FORMS.filter((form) => (form === 'sub' || form === 'username') && accepted.includes(form));
  if (forms.length === 0) return { ok: false, problem: 'form_not_accepted', form: 'sub' };
  return { ok: true, value, forms };
}

function only(form: LoginHintForm, value: string, accepted: readonly LoginHintForm[]): LoginHintLookup {
  return accepted.includes(form) ? { ok: true, value, forms: [form] } : { ok: false, problem: 'form_not_accepted', form };
}

/**
 * A username that a login_hint can reach: the syntax rules above would read one holding `@`, or
 * starting with `+` or `tel:`, as an email address or a phone number.
 */
export function usernameProblem(username: string): string | null {
  if (username.trim() !== username || username === '') return 'must be non-empty without surrounding spaces';
  if (username.length > 255) return 'must be at most 255 characters';
  if (username.includes('@') || username.startsWith('+') || /^tel:/i.test(username)) return 'must not contain @ nor start with + or tel: (those are read as email addresses and phone numbers)';
  if (/[\u0000-\u001f\u007f]/.test(username)) return 'must not contain control characters';
  return null;
}
