import { describe, expect, it } from '@jest/globals';
import { defaultBindingMessageRule, patternBindingMessageRule } from './binding-message.js';
import { OAuthError } from './errors.js';
import { errorOf } from '../test/error-of.js';

describe('defaultBindingMessageRule', () => {
  const rule = defaultBindingMessageRule();

  it.each([
    ['Latin', 'Approve payment W4K-9 of €25.00?'],
    ['Cyrillic', 'Подтвердите вход: код 7Q2'],
    ['CJK', '支付确认 ４２'],
    ['Japanese', 'ログインを承認しますか'],
    ['Arabic', 'رمز التأكيد ٤٢'],
    ['Hebrew', 'אישור כניסה'],
    ['Devanagari', 'लॉगिन की पुष्टि करें'],
    ['Persian with ZWNJ', 'می‌خواهید وارد شوید؟'],
    ['emoji', 'Sign in? 👍🔐'],
    ['emoji ZWJ sequence and flag', 'Family 👨‍👩‍👧 🇫🇷'],
    ['precomposed accents', 'Café Señor Zürich'],
    ['combining accents', 'Cafe\u0301 n\u0303'],
    ['no-break space', 'A\u00A0B'],
  ])('CIBA §7.1 accepts human text: %s', (_script, message) => {
    expect(() => rule.check(message)).not.toThrow();
  });

  it.each([
    ['line feed', 'line one\nline two'],
    ['carriage return', 'a\rb'],
    ['tab', 'a\tb'],
    ['bell', 'ding\u0007'],
    ['NUL', 'a\u0000b'],
    ['right-to-left override', 'pay \u202Eevil'],
    ['left-to-right isolate', 'a\u2066b'],
    ['right-to-left mark', 'a\u200Fb'],
    ['soft hyphen (format)', 'a\u00ADb'],
    ['line separator', 'a\u2028b'],
    ['private use', 'a\uE000b'],
    ['lone surrogate', 'a\uD800b'],
    ['spaces only', '   '],
    ['ZWJ only', '\u200D'],
    ['empty', ''],
  ])('CIBA §13 rejects %s with invalid_binding_message', (_case, message) => {
    const err = errorOf(() => rule.check(message));
    expect(err.error).toBe('invalid_binding_message');
    expect(err.status).toBe(400);
    expect(err.description).not.toContain(message.trim() || '\u0000');
  });

  it('CIBA §7.1 accepts exactly 64 characters and rejects 65', () => {
    expect(() => rule.check('a'.repeat(64))).not.toThrow();
    expect(errorOf(() => rule.check('a'.repeat(65))).description).toBe('binding_message must be at most 64 characters');
  });

  it('CIBA §7.1 counts code points, not UTF-16 units', () => {
    expect(() => rule.check('😀'.repeat(64))).not.toThrow();
    expect(() => rule.check('😀'.repeat(65))).toThrow(OAuthError);
  });

  it('honours a configured maximum length', () => {
    const short = defaultBindingMessageRule(5);
    expect(() => short.check('abcde')).not.toThrow();
    expect(() => short.check('abcdef')).toThrow(OAuthError);
  });

  it('refuses a nonsensical maximum at construction', () => {
    expect(() => defaultBindingMessageRule(0)).toThrow(RangeError);
  });
});

describe('patternBindingMessageRule', () => {
  const rule = patternBindingMessageRule('^[A-Z0-9 -]+$', 10);

  it('CIBA §7.1 accepts a message matching the configured pattern', () => {
    expect(() => rule.check('AB-12 X')).not.toThrow();
  });

  it('CIBA §13 rejects a message the pattern does not match', () => {
    expect(errorOf(() => rule.check('ab')).error).toBe('invalid_binding_message');
  });

  it('CIBA §13 still enforces the length limit', () => {
    expect(errorOf(() => rule.check('A'.repeat(11))).description).toBe('binding_message must be at most 10 characters');
  });

  it('CIBA §13 still bans control characters a loose pattern would allow', () => {
    const loose = patternBindingMessageRule('^[\\s\\S]+$');
    expect(() => loose.check('ok')).not.toThrow();
    expect(errorOf(() => loose.check('a\nb')).error).toBe('invalid_binding_message');
    expect(errorOf(() => loose.check('a\u202Eb')).error).toBe('invalid_binding_message');
  });

  it('compiles with the u flag so \\p classes work', () => {
    const letters = patternBindingMessageRule('^\\p{L}+$');
    expect(() => letters.check('Ωμέγα')).not.toThrow();
  });

  it('fails at construction on an invalid pattern', () => {
    expect(() => patternBindingMessageRule('^[a-z')).toThrow(SyntaxError);
  });
});
