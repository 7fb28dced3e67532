import { describe, expect, it } from '@jest/globals';
import { FormParams, OAuthError } from '@ciba/protocol';
import { bearerTokenOf, validateTokenOperationRequest } from './token-lifecycle.rules.js';

function refusal(fn: () => unknown): { status: number; error: string; challenge: string | undefined } {
  try {
    fn();
  } catch (err) {
    if (err instanceof OAuthError) return { status: err.status, error: err.error, challenge: err.headers['WWW-Authenticate'] };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('token operation requests (RFC 7662 §2.1, RFC 7009 §2.1)', () => {
  it('RFC 7662 §2.1 token is required', () => {
    expect(refusal(() => validateTokenOperationRequest(new FormParams([['token_type_hint', 'access_token']])))).toMatchObject({ status: 400, error: 'invalid_request' });
  });

  it('RFC 7009 §2.1 token_type_hint orders the search and never narrows it; an unknown hint is ignored', () => {
    const order = (hint?: string) => validateTokenOperationRequest(new FormParams([['token', 't'], ...(hint ? [['token_type_hint', hint] as const] : [])])).lookupOrder;
    expect(order('refresh_token')).toEqual(['refresh_token', 'access_token']);
    expect(order('access_token')).toEqual(['access_token', 'refresh_token']);
    expect(order('id_token')).toEqual(['access_token', 'refresh_token']);
    expect(order()).toEqual(['access_token', 'refresh_token']);
  });
});

describe('bearer token of a UserInfo request (RFC 6750)', () => {
  const request = (authorization?: string, extra: { inQuery?: boolean; inBody?: boolean } = {}) => ({ authorization, inQuery: false, inBody: false, ...extra });

  it('RFC 6750 §2.1 the token from the Authorization header; the scheme is case-insensitive', () => {
    expect(bearerTokenOf(request('Bearer abc.DEF-_~+/='))).toBe('abc.DEF-_~+/=');
    expect(bearerTokenOf(request('bearer abc'))).toBe('abc');
  });

  it('RFC 6750 §3.1 no token (or another scheme): 401 with a bare Bearer challenge, no error code', () => {
    for (const header of [undefined, '', 'Basic YTpi']) {
      expect(refusal(() => bearerTokenOf(request(header)))).toEqual({ status: 401, error: 'invalid_token', challenge: 'Bearer realm="ciba"' });
    }
  });

  it('RFC 6750 §3.1 a malformed header is invalid_request', () => {
    for (const header of ['Bearer', 'Bearer a b', 'Bearer a"b', 'Bearer ä']) {
      expect(refusal(() => bearerTokenOf(request(header)))).toMatchObject({ status: 400, error: 'invalid_request' });
    }
  });

  it('RFC 6750 §2.3 a token in the query is refused, even beside a header; so is one in the body', () => {
    expect(refusal(() => bearerTokenOf(request('Bearer abc', { inQuery: true })))).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(refusal(() => bearerTokenOf(request(undefined, { inBody: true }))).challenge).toMatch(/^Bearer realm="ciba", error="invalid_request"/);
  });
});
