import { describe, expect, it } from '@jest/globals';
import { CIBA_GRANT_TYPE } from './constants.js';
import { parseFormParams } from './form-params.js';
import { assertClientMayUseGrant, validateTokenRequest } from './token-request.js';
import { errorOf } from '../test/error-of.js';

const validate = (body: Record<string, string>) => validateTokenRequest(parseFormParams(body));

describe('validateTokenRequest', () => {
  it('§10.1 reads a CIBA grant request', () => {
    expect(validate({ grant_type: CIBA_GRANT_TYPE, auth_req_id: 'abc' })).toEqual({
      grantType: CIBA_GRANT_TYPE,
      authReqId: 'abc',
    });
  });

  it('§10.1 requires auth_req_id for the CIBA grant', () => {
    const err = errorOf(() => validate({ grant_type: CIBA_GRANT_TYPE }));
    expect(err.error).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.description).toBe('auth_req_id is required');
  });

  it('§10.1 treats an empty auth_req_id as missing (RFC 6749 §3.1)', () => {
    expect(errorOf(() => validate({ grant_type: CIBA_GRANT_TYPE, auth_req_id: '' })).error).toBe('invalid_request');
  });

  it.each<Record<string, string>>([
    { grant_type: CIBA_GRANT_TYPE, auth_req_id: 'abc' },
    { grant_type: 'refresh_token', refresh_token: 'rt' },
  ])('RFC 9396 §6 refuses authorization_details in a token request (%p) instead of ignoring it', (body) => {
    const err = errorOf(() => validate({ ...body, authorization_details: '[{"type":"payment_initiation"}]' }));
    expect(err.error).toBe('invalid_authorization_details');
    expect(err.status).toBe(400);
    expect(err.description).toMatch(/not supported in token requests/);
  });

  it('RFC 6749 §6 reads a refresh request with and without scope', () => {
    expect(validate({ grant_type: 'refresh_token', refresh_token: 'rt' })).toEqual({
      grantType: 'refresh_token',
      refreshToken: 'rt',
      scope: null,
    });
    expect(validate({ grant_type: 'refresh_token', refresh_token: 'rt', scope: 'openid email openid' })).toEqual({
      grantType: 'refresh_token',
      refreshToken: 'rt',
      scope: ['openid', 'email'],
    });
  });

  it('RFC 6749 §6 requires refresh_token', () => {
    expect(errorOf(() => validate({ grant_type: 'refresh_token' })).description).toBe('refresh_token is required');
  });

  it('RFC 6749 §3.3 rejects a malformed refresh scope with a 400', () => {
    const err = errorOf(() => validate({ grant_type: 'refresh_token', refresh_token: 'rt', scope: 'a\tb' }));
    expect(err.error).toBe('invalid_request');
    expect(err.status).toBe(400);
  });

  it('RFC 6749 §5.2 requires grant_type', () => {
    const err = errorOf(() => validate({ auth_req_id: 'abc' }));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toBe('grant_type is required');
  });

  it.each(['authorization_code', 'client_credentials', 'password', 'urn:openid:params:grant-type:CIBA'])(
    'RFC 6749 §5.2 answers unsupported_grant_type for %p',
    (grantType) => {
      const err = errorOf(() => validate({ grant_type: grantType }));
      expect(err.error).toBe('unsupported_grant_type');
      expect(err.status).toBe(400);
    },
  );
});

describe('assertClientMayUseGrant', () => {
  it('RFC 6749 §5.2 lets a client use a registered grant', () => {
    expect(() => assertClientMayUseGrant([CIBA_GRANT_TYPE, 'refresh_token'], 'refresh_token')).not.toThrow();
  });

  it('RFC 6749 §5.2 answers unauthorized_client (400) for an unregistered grant', () => {
    const err = errorOf(() => assertClientMayUseGrant(['refresh_token'], CIBA_GRANT_TYPE));
    expect(err.error).toBe('unauthorized_client');
    expect(err.status).toBe(400);
  });
});
