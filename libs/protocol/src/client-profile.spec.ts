import { describe, expect, it } from '@jest/globals';
import { type ProfiledClientMetadata, checkProfileBindingMessage, clientProfileProblems } from './client-profile.js';
import { errorOf } from '../test/error-of.js';

/** A registration that fits FAPI-CIBA: each test breaks one rule. */
const fapi: ProfiledClientMetadata = {
  client_profile: 'fapi-ciba',
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'PS256',
  backchannel_token_delivery_mode: 'poll',
  backchannel_authentication_request_signing_alg: 'ES256',
  id_token_signed_response_alg: 'PS256',
  dpop_bound_access_tokens: true,
};

describe('fapi-ciba client profile: registration', () => {
  it('accepts a registration that fits the profile, with DPoP or certificate-bound tokens, by private_key_jwt or mTLS', () => {
    expect(clientProfileProblems(fapi)).toEqual([]);
    expect(clientProfileProblems({ ...fapi, dpop_bound_access_tokens: undefined, tls_client_certificate_bound_access_tokens: true })).toEqual([]);
    expect(clientProfileProblems({ ...fapi, token_endpoint_auth_method: 'tls_client_auth', token_endpoint_auth_signing_alg: undefined })).toEqual([]);
    expect(clientProfileProblems({ ...fapi, token_endpoint_auth_method: 'self_signed_tls_client_auth', token_endpoint_auth_signing_alg: undefined })).toEqual([]);
    expect(clientProfileProblems({ ...fapi, backchannel_token_delivery_mode: 'ping' })).toEqual([]);
  });

  it('asks nothing of a client without a profile', () => {
    expect(clientProfileProblems({ token_endpoint_auth_method: 'client_secret_basic', backchannel_token_delivery_mode: 'push' })).toEqual([]);
  });

  it('FAPI-CIBA §5.2.2 needs signed authentication requests with PS256 or ES256', () => {
    expect(clientProfileProblems({ ...fapi, backchannel_authentication_request_signing_alg: undefined })).toEqual([
      'fapi-ciba needs signed authentication requests: backchannel_authentication_request_signing_alg PS256 or ES256',
    ]);
    expect(clientProfileProblems({ ...fapi, backchannel_authentication_request_signing_alg: 'RS256' })).toHaveLength(1);
    expect(clientProfileProblems({ ...fapi, backchannel_authentication_request_signing_alg: 'EdDSA' })).toHaveLength(1);
  });

  it('FAPI-CIBA §5.2.2 refuses the push mode', () => {
    expect(clientProfileProblems({ ...fapi, backchannel_token_delivery_mode: 'push' })).toEqual(['fapi-ciba does not allow the push token delivery mode; use poll or ping']);
  });

  it('FAPI 1.0 Advanced §5.2.2 (14) refuses shared-secret client authentication', () => {
    for (const method of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt']) {
      expect(clientProfileProblems({ ...fapi, token_endpoint_auth_method: method, token_endpoint_auth_signing_alg: undefined })).toEqual([
        `fapi-ciba needs token_endpoint_auth_method private_key_jwt, tls_client_auth, self_signed_tls_client_auth; not ${method}`,
      ]);
    }
  });

  it('FAPI 1.0 Advanced §8.6 needs private_key_jwt assertions pinned to PS256 or ES256', () => {
    expect(clientProfileProblems({ ...fapi, token_endpoint_auth_signing_alg: undefined })).toEqual(['fapi-ciba needs token_endpoint_auth_signing_alg PS256 or ES256 for private_key_jwt']);
    expect(clientProfileProblems({ ...fapi, token_endpoint_auth_signing_alg: 'RS256' })).toHaveLength(1);
  });

  it('FAPI 1.0 Advanced §5.2.2 (5) needs sender-constrained access tokens', () => {
    expect(clientProfileProblems({ ...fapi, dpop_bound_access_tokens: false })).toEqual([
      'fapi-ciba needs sender-constrained access tokens: tls_client_certificate_bound_access_tokens or dpop_bound_access_tokens true',
    ]);
  });

  it('FAPI 1.0 Advanced §8.6 needs ID tokens signed with PS256 or ES256', () => {
    expect(clientProfileProblems({ ...fapi, id_token_signed_response_alg: undefined })).toEqual(['fapi-ciba needs id_token_signed_response_alg PS256 or ES256']);
    expect(clientProfileProblems({ ...fapi, id_token_signed_response_alg: 'RS256' })).toHaveLength(1);
  });

  it('lists every problem of a registration at once', () => {
    expect(clientProfileProblems({ client_profile: 'fapi-ciba', token_endpoint_auth_method: 'client_secret_basic', backchannel_token_delivery_mode: 'push' })).toHaveLength(5);
  });
});

describe('fapi-ciba client profile: requests', () => {
  it('FAPI-CIBA §5.2.2 requires a binding_message from a fapi-ciba client', () => {
    const err = errorOf(() => checkProfileBindingMessage('fapi-ciba', null));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toContain('binding_message is required');
    expect(() => checkProfileBindingMessage('fapi-ciba', 'Pay 42 EUR to ACME')).not.toThrow();
  });

  it('does not require a binding_message from other clients', () => {
    expect(() => checkProfileBindingMessage(null, null)).not.toThrow();
    expect(() => checkProfileBindingMessage(undefined, null)).not.toThrow();
  });
});
