import { describe, expect, it } from '@jest/globals';
import { parse } from 'node:querystring';
import { DEFAULT_PARAMETER_MAX_LENGTH, PARAMETER_MAX_LENGTH, parseFormParams } from './form-params.js';
import { errorOf } from '../test/error-of.js';

describe('parseFormParams', () => {
  it('reads single-valued parameters from a querystring-parsed body', () => {
    const params = parseFormParams(parse('scope=openid%20email&login_hint=alice%40example.com'));
    expect(params.get('scope')).toBe('openid email');
    expect(params.get('login_hint')).toBe('alice@example.com');
    expect(params.has('scope')).toBe(true);
    expect(params.has('acr_values')).toBe(false);
    expect(params.names()).toEqual(['scope', 'login_hint']);
  });

  it('RFC 6749 §3.1 rejects a repeated parameter and names it', () => {
    const err = errorOf(() => parseFormParams(parse('scope=openid&login_hint=alice%40example.com&login_hint=bob')));
    expect(err.error).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.description).toBe('parameter login_hint is repeated');
    expect(err.description).not.toContain('alice');
    expect(err.description).not.toContain('bob');
  });

  it('RFC 6749 §3.1 rejects a repeated parameter even when one copy is empty', () => {
    expect(errorOf(() => parseFormParams(parse('scope=&scope=openid'))).error).toBe('invalid_request');
  });

  it('RFC 6749 §3.1 treats a parameter sent without a value as omitted', () => {
    const params = parseFormParams(parse('binding_message=&scope=openid'));
    expect(params.get('binding_message')).toBeUndefined();
    expect(params.has('binding_message')).toBe(false);
    expect(params.names()).toEqual(['scope']);
  });

  it.each([undefined, null, 'scope=openid', 42, ['scope']])('rejects a body that is not a form (%p)', (body) => {
    expect(errorOf(() => parseFormParams(body)).error).toBe('invalid_request');
  });

  it('rejects non-string values', () => {
    expect(errorOf(() => parseFormParams({ requested_expiry: 300 })).description).toBe(
      'parameter requested_expiry must be a string',
    );
  });

  it('does not echo odd parameter names', () => {
    const err = errorOf(() => parseFormParams(parse('%3Cscript%3E=1&%3Cscript%3E=2')));
    expect(err.description).toBe('parameter (unnamed) is repeated');
  });

  it('handles a __proto__ key from a null-prototype body as an ordinary name', () => {
    const params = parseFormParams(parse('__proto__=x&scope=openid'));
    expect(params.get('__proto__')).toBe('x');
    expect(params.get('scope')).toBe('openid');
  });

  it.each(['client_id', 'login_hint', 'acr_values', 'auth_req_id', 'refresh_token', 'scope', 'id_token_hint', 'user_code', 'client_notification_token', 'x_unknown'])(
    'refuses a NUL byte or another control character in %s with invalid_request, naming only the parameter',
    (name) => {
      for (const value of ['a\u0000b', 'a\u0007b', 'a\u007fb', 'a\u0085b', 'a\tb', 'a\nb']) {
        const err = errorOf(() => parseFormParams({ [name]: value }));
        expect(err.error).toBe('invalid_request');
        expect(err.description).toBe(`parameter ${name} contains a control character`);
      }
    },
  );

  it('lets JSON text (authorization_details) hold tabs and line breaks, but no other control character', () => {
    expect(parseFormParams({ authorization_details: '[\n\t{"type": "x"}\r\n]' }).get('authorization_details')).toContain('\n');
    expect(errorOf(() => parseFormParams({ authorization_details: '[{"type":"x\u0000"}]' })).description).toBe('parameter authorization_details contains a control character');
  });

  it('leaves binding_message to its own rule (CIBA §13 invalid_binding_message)', () => {
    expect(parseFormParams({ binding_message: 'Approve\u0000' }).get('binding_message')).toBe('Approve\u0000');
  });

  it('bounds every parameter: its own length, or the default for the others', () => {
    expect(errorOf(() => parseFormParams({ login_hint: 'a'.repeat(PARAMETER_MAX_LENGTH['login_hint']! + 1) })).description).toBe(
      `parameter login_hint must be at most ${PARAMETER_MAX_LENGTH['login_hint']} characters`,
    );
    expect(parseFormParams({ login_hint: 'a'.repeat(PARAMETER_MAX_LENGTH['login_hint']!) }).has('login_hint')).toBe(true);
    expect(errorOf(() => parseFormParams({ x_ext: 'a'.repeat(DEFAULT_PARAMETER_MAX_LENGTH + 1) })).error).toBe('invalid_request');
    // CIBA §7.1: client_notification_token of at most 1024 characters
    expect(PARAMETER_MAX_LENGTH['client_notification_token']).toBe(1024);
  });

  it('refuses a control character in a parameter name', () => {
    expect(errorOf(() => parseFormParams({ 'login\u0000hint': 'alice' })).description).toBe('a parameter name contains a control character');
  });
});
