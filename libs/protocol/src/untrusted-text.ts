import { isUtf8 } from 'node:buffer';

/**
 * Rules for text a client sends, checked before any of it is looked up or stored: PostgreSQL
 * refuses NUL in text and jsonb (the query would fail with a 500), and control characters or
 * unpaired surrogates in an identifier are never legitimate.
 */

/** Unicode general category Cc: C0 controls, DEL and C1 controls. */
const CONTROL = /\p{Cc}/u;
/** The same, except the tab, line feed and carriage return that text (JSON text, JSON strings) may contain. */
const CONTROL_EXCEPT_LINE_BREAKS = /[\0-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/;
/** In a `u` regex a surrogate pair is one code point, so this matches only unpaired surrogates. */
const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** Beyond this nesting a JSON value is refused rather than walked (recursive code elsewhere would overflow). */
export const MAX_JSON_DEPTH = 32;

export function hasControlCharacter(value: string, allowLineBreaks = false): boolean {
  return (allowLineBreaks ? CONTROL_EXCEPT_LINE_BREAKS : CONTROL).test(value);
}

export function hasUnpairedSurrogate(value: string): boolean {
  return UNPAIRED_SURROGATE.test(value);
}

/**
 * What is wrong with a parsed JSON value, or null: a string (value or member name) with a control
 * character other than tab, line feed and carriage return, an unpaired surrogate (`"\ud800"`
 * parses, but cannot be encoded as UTF-8), or nesting deeper than {@link MAX_JSON_DEPTH}. The
 * answer never quotes the value.
 */
export function jsonValueProblem(value: unknown): string | null {
  // Iterative, so a hostile nesting depth cannot exhaust the stack.
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { value: current, depth } = item;
    if (typeof current === 'string') {
      const problem = stringProblem(current);
      if (problem) return problem;
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
      for (const [name, member] of Object.entries(current)) {
        const problem = stringProblem(name);
        if (problem) return problem;
        pending.push({ value: member, depth: depth + 1 });
      }
    }
  }
  return null;
}

function stringProblem(value: string): string | null {
  if (hasControlCharacter(value, true)) return 'contains a control character';
  if (hasUnpairedSurrogate(value)) return 'contains an unpaired surrogate';
  return null;
}

/**
 * RFC 6749 Appendix B: form bodies are UTF-8, percent-encoded. Node's decoders turn an invalid
 * sequence into U+FFFD or leave it undecoded without saying so; this looks at the bytes the body
 * stands for (`%XX` decoded; malformed escapes and `+` are ASCII either way) and says whether
 * they are UTF-8.
 */
export function isUtf8FormBody(raw: Uint8Array): boolean {
  const bytes = new Uint8Array(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const high = i + 2 < raw.length ? hexValue(raw[i + 1]) : -1;
    const low = high >= 0 ? hexValue(raw[i + 2]) : -1;
    if (raw[i] === 0x25 && high >= 0 && low >= 0) {
      bytes[length++] = high * 16 + low;
      i += 2;
    } else {
      bytes[length++] = raw[i];
    }
  }
  return isUtf8(bytes.subarray(0, length));
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}
