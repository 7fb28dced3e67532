import { OAuthError } from './errors.js';

/**
 * CIBA §7.1: the binding_message is shown on both the consumption and the authentication device,
 * "SHOULD be relatively short and use a limited set of plain text characters". A rule throws
 * `invalid_binding_message` (CIBA §13) for a message it will not display.
 */
export interface BindingMessageRule {
  check(message: string): void;
}

export const DEFAULT_BINDING_MESSAGE_MAX_LENGTH = 64;

/**
 * Human text in any script: letters with their combining marks, digits, punctuation, symbols
 * (emoji included) and spaces. ZWNJ / ZWJ (U+200C, U+200D) are the only format characters let
 * through: Persian, Indic scripts and emoji sequences need them, and they cannot reorder text.
 */
const DISPLAYABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}\u200C\u200D]+$/u;
const BLANK = /^[\p{Zs}\u200C\u200D]*$/u;
/**
 * Control characters (CR, LF, TAB, BEL…) and the bidi controls that can make a message read
 * differently from what was sent (Trojan Source, CVE-2021-42574).
 */
const FORBIDDEN = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

function invalidBindingMessage(description: string): OAuthError {
  return new OAuthError('invalid_binding_message', description);
}

/** Length in Unicode code points, so an emoji or a CJK character counts once. */
function checkLength(message: string, maxLength: number): void {
  const length = [...message].length;
  if (length === 0) throw invalidBindingMessage('binding_message must not be empty');
  if (length > maxLength) throw invalidBindingMessage(`binding_message must be at most ${maxLength} characters`);
}

function assertValidMaxLength(maxLength: number): void {
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) throw new RangeError('binding message maxLength must be a positive integer');
}

export function defaultBindingMessageRule(maxLength = DEFAULT_BINDING_MESSAGE_MAX_LENGTH): BindingMessageRule {
  assertValidMaxLength(maxLength);
  return {
    check(message: string): void {
      checkLength(message, maxLength);
      if (!DISPLAYABLE.test(message)) throw invalidBindingMessage('binding_message may contain only printable text');
      if (BLANK.test(message)) throw invalidBindingMessage('binding_message must not be blank');
    },
  };
}

/**
 * An operator-configured pattern (compiled once with the `u` flag; anchor it yourself, e.g.
 * `^[A-Z0-9 -]+$`). The length limit is checked first, which also bounds the regex's work, and
 * control characters stay banned whatever the pattern allows. A bad pattern fails at boot.
 */
export function patternBindingMessageRule(pattern: string, maxLength = DEFAULT_BINDING_MESSAGE_MAX_LENGTH): BindingMessageRule {
  assertValidMaxLength(maxLength);
  const regex = new RegExp(pattern, 'u');
  return {
    check(message: string): void {
      checkLength(message, maxLength);
      if (FORBIDDEN.test(message)) throw invalidBindingMessage('binding_message may contain only printable text');
      if (!regex.test(message)) throw invalidBindingMessage('binding_message does not have the accepted format');
    },
  };
}
