import { describe, expect, it } from '@jest/globals';
import { hasControlCharacter, hasUnpairedSurrogate, isUtf8FormBody, jsonValueProblem } from './untrusted-text.js';

describe('hasControlCharacter', () => {
  it('finds C0 controls, DEL and C1 controls, not other characters', () => {
    for (const control of ['\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f']) expect(hasControlCharacter(`a${control}b`)).toBe(true);
    for (const text of ['alice@example.com', 'Zoë 😀 ÿ', '\u00a0', '\u2028', '\ufffd', '']) expect(hasControlCharacter(text)).toBe(false);
  });

  it('lets text hold tab, line feed and carriage return when asked', () => {
    expect(hasControlCharacter('a\tb\nc\r', true)).toBe(false);
    for (const control of ['\u0000', '\u000b', '\u000c', '\u001b', '\u007f', '\u0085']) expect(hasControlCharacter(`a${control}`, true)).toBe(true);
  });
});

describe('hasUnpairedSurrogate', () => {
  it('finds a lone high or low surrogate, never a pair', () => {
    expect(hasUnpairedSurrogate('a\ud800b')).toBe(true);
    expect(hasUnpairedSurrogate('a\udc00')).toBe(true);
    expect(hasUnpairedSurrogate('\udc00\ud800')).toBe(true);
    expect(hasUnpairedSurrogate('😀')).toBe(false);
  });
});

describe('jsonValueProblem', () => {
  it('accepts ordinary JSON, tabs and line breaks in strings included', () => {
    expect(jsonValueProblem({ status: 'SUCCEED', list: [1, true, null, { label: 'line\nbreak\ttab' }] })).toBeNull();
  });

  it('finds a control character or unpaired surrogate in any string or member name, at any depth, without quoting it', () => {
    expect(jsonValueProblem({ a: [{ b: 'x\u0000' }] })).toBe('contains a control character');
    expect(jsonValueProblem({ ['k\u0001']: 1 })).toBe('contains a control character');
    expect(jsonValueProblem(['\udfff'])).toBe('contains an unpaired surrogate');
    expect(jsonValueProblem('\u001b')).toBe('contains a control character');
  });

  it('refuses nesting deeper than 32 levels without recursing (a hostile depth cannot exhaust the stack)', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown;
    expect(jsonValueProblem(deep)).toBe('is nested deeper than 32 levels');
    expect(jsonValueProblem(JSON.parse(`${'['.repeat(32)}${']'.repeat(32)}`))).toBeNull();
  });
});

describe('isUtf8FormBody', () => {
  const body = (text: string | Buffer) => isUtf8FormBody(Buffer.from(text));

  it('RFC 6749 Appendix B accepts UTF-8, percent-encoded or not', () => {
    expect(body('login_hint=alice%40example.com&binding_message=Zo%C3%AB+%F0%9F%98%80')).toBe(true);
    expect(body(Buffer.from('binding_message=Zoë😀'))).toBe(true);
    expect(body('a=%00')).toBe(true);
    expect(body('')).toBe(true);
  });

  it('refuses percent-encoded bytes that are not UTF-8, which Node would silently replace or leave undecoded', () => {
    expect(body('a=%FF')).toBe(false);
    expect(body('a=%C3%28')).toBe(false);
    expect(body('a=%ED%A0%80')).toBe(false); // an encoded surrogate
    expect(body('a=%C3&b=%A9')).toBe(false); // a sequence split across parameters
    expect(body('a=%c3%a9')).toBe(true);
  });

  it('refuses raw bytes that are not UTF-8, and leaves malformed escapes as the ASCII they are', () => {
    expect(body(Buffer.from([0x61, 0x3d, 0xff]))).toBe(false);
    expect(body('a=%zz&b=%4&c=%')).toBe(true);
  });
});
