import { describe, expect, it } from '@jest/globals';
import { parse } from 'node:querystring';
import { parseFormParams } from './form-params.js';
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
});
