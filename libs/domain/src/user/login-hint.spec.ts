import { describe, expect, it } from '@jest/globals';
import { LOGIN_HINT_MAX_LENGTH, loginHintLookup, usernameProblem } from './login-hint.js';

describe('loginHintLookup (CIBA §7.1 login_hint forms)', () => {
  it('CIBA §7.1 reads a tel: URI (RFC 3966 global number) as a phone number only, in its E.164 form', () => {
    expect(loginHintLookup('tel:+1-555-555-0100')).toEqual({ ok: true, value: '+15555550100', forms: ['phone'] });
    expect(loginHintLookup('TEL:+44(20)7946.0000')).toEqual({ ok: true, value: '+442079460000', forms: ['phone'] });
  });

  it('CIBA §7.1 reads a leading + as an E.164 phone number only, separators dropped', () => {
    expect(loginHintLookup(' +1 555 555 0100 ')).toEqual({ ok: true, value: '+15555550100', forms: ['phone'] });
  });

  it('CIBA §7.1 refuses a tel: URI with parameters, a local number, or more than 15 digits as a malformed phone number', () => {
    for (const hint of ['tel:+1-555-0100;ext=12', 'tel:555-0100', 'tel:+1-555-0100;phone-context=example.com', '+1234567890123456', '+12', '+1 555 abc', 'tel:'])
      expect(loginHintLookup(hint)).toEqual({ ok: false, problem: 'malformed_phone', form: 'phone' });
  });

  it('CIBA §7.1 reads a hint holding @ as an email address only, never as a sub or a username', () => {
    expect(loginHintLookup('Alice@Example.com')).toEqual({ ok: true, value: 'Alice@Example.com', forms: ['email'] });
    expect(loginHintLookup('alice@example.com', ['sub', 'username'])).toEqual({ ok: false, problem: 'form_not_accepted', form: 'email' });
  });

  it('CIBA §7.1 reads anything else as a sub or a username, as the deployment accepts them', () => {
    expect(loginHintLookup('alice')).toEqual({ ok: true, value: 'alice', forms: ['sub', 'username'] });
    expect(loginHintLookup('alice', ['username', 'email'])).toEqual({ ok: true, value: 'alice', forms: ['username'] });
    expect(loginHintLookup('alice', ['sub'])).toEqual({ ok: true, value: 'alice', forms: ['sub'] });
    expect(loginHintLookup('alice', ['email', 'phone'])).toEqual({ ok: false, problem: 'form_not_accepted', form: 'sub' });
  });

  it('CIBA §7.1 refuses a phone number where the deployment does not accept phone hints', () => {
    expect(loginHintLookup('tel:+15555550100', ['sub', 'email'])).toEqual({ ok: false, problem: 'form_not_accepted', form: 'phone' });
  });

  it('refuses an empty hint and one over the length bound before any lookup', () => {
    expect(loginHintLookup('   ')).toEqual({ ok: false, problem: 'empty', form: null });
    expect(loginHintLookup('a'.repeat(LOGIN_HINT_MAX_LENGTH + 1))).toEqual({ ok: false, problem: 'too_long', form: null });
    expect(loginHintLookup('a'.repeat(LOGIN_HINT_MAX_LENGTH)).ok).toBe(true);
  });
});

describe('usernameProblem', () => {
  it('accepts a username a login_hint can reach', () => {
    expect(usernameProblem('alice.example')).toBeNull();
  });

  it('refuses a username that a login_hint would read as an email address or a phone number', () => {
    for (const name of ['alice@corp', '+15555550100', 'tel:alice', 'TEL:x']) expect(usernameProblem(name)).toMatch(/must not contain @/);
  });

  it('refuses empty, padded, overlong and control-character usernames', () => {
    expect(usernameProblem('')).not.toBeNull();
    expect(usernameProblem(' alice')).not.toBeNull();
    expect(usernameProblem('a'.repeat(256))).not.toBeNull();
    expect(usernameProblem('ali\u0000ce')).not.toBeNull();
  });
});
