import { describe, expect, it } from '@jest/globals';
import { FormParams, OAuthError } from '@ciba/protocol';
import { accessTokenOf, validateTokenOperationRequest } from './token-lifecycle.rules.js';

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

describe('access token of a UserInfo request (RFC 6750, RFC 9449 §7)', () => {
  const request = (authorization?: string, extra: { inQuery?: boolean; inBody?: boolean } = {}) => ({ authorization, inQuery: false, inBody: false, ...extra });
  const ALGS = 'DPoP algs="ES256 PS256 EdDSA RS256"';

  it('RFC 6750 §2.1 the token from the Authorization header; the scheme is case-insensitive', () => {
    expect(accessTokenOf(request('Bearer abc.DEF-_~+/='))).toEqual({ token: 'abc.DEF-_~+/=', scheme: 'Bearer' });
    expect(accessTokenOf(request('bearer abc'))).toEqual({ token: 'abc', scheme: 'Bearer' });
  });

  it('RFC 9449 §7.1 the DPoP scheme carries a (DPoP-bound) access token too', () => {
    expect(accessTokenOf(request('DPoP abc.def'))).toEqual({ token: 'abc.def', scheme: 'DPoP' });
    expect(accessTokenOf(request('dpop abc'))).toEqual({ token: 'abc', scheme: 'DPoP' });
  });

  it('RFC 6750 §3.1 / RFC 9449 §7.1 no token (or another scheme): 401 with bare Bearer and DPoP (algs) challenges, no error code', () => {
    for (const header of [undefined, '', 'Basic YTpi']) {
      expect(refusal(() => accessTokenOf(request(header)))).toEqual({ status: 401, error: 'invalid_token', challenge: `Bearer realm="ciba", ${ALGS}` });
    }
  });

  it('RFC 6750 §3.1 a malformed header is invalid_request, in the challenge of the scheme used', () => {
    for (const header of ['Bearer', 'Bearer a b', 'Bearer a"b', 'Bearer ä']) {
      expect(refusal(() => accessTokenOf(request(header)))).toMatchObject({ status: 400, error: 'invalid_request', challenge: expect.stringMatching(/^Bearer realm="ciba", error="invalid_request"/) });
    }
    expect(refusal(() => accessTokenOf(request('DPoP a b')))).toMatchObject({ status: 400, error: 'invalid_request', challenge: expect.stringMatching(/^DPoP error="invalid_request", .*algs=/) });
  });

  it('RFC 6750 §2.3 a token in the query is refused, even beside a header; so is one in the body', () => {
    expect(refusal(() => accessTokenOf(request('Bearer abc', { inQuery: true })))).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(refusal(() => accessTokenOf(request(undefined, { inBody: true }))).challenge).toMatch(/^Bearer realm="ciba", error="invalid_request"/);
  });
});
