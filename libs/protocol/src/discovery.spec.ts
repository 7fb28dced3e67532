import { describe, expect, it } from '@jest/globals';
import { CIBA_GRANT_TYPE } from './constants.js';
import { buildDiscoveryDocument, type DiscoveryInput, withAuthorizationDetailsTypes } from './discovery.js';

const input: DiscoveryInput = {
  issuer: 'https://op.example.com',
  backchannelAuthenticationEndpoint: 'https://op.example.com/bc-authorize',
  tokenEndpoint: 'https://op.example.com/token',
  jwksUri: 'https://op.example.com/jwks',
  scopesSupported: ['openid', 'email'],
  grantTypesSupported: [CIBA_GRANT_TYPE, 'refresh_token'],
  backchannelTokenDeliveryModesSupported: ['poll', 'ping', 'push'],
  backchannelUserCodeParameterSupported: false,
  tokenEndpointAuthMethodsSupported: ['client_secret_basic', 'client_secret_post'],
  idTokenSigningAlgValuesSupported: ['ES256'],
  claimsSupported: ['sub', 'email'],
};

describe('buildDiscoveryDocument', () => {
  it('§4 publishes every CIBA provider metadata field this OP supports', () => {
    const doc = buildDiscoveryDocument(input);
    // CIBA §4: backchannel_token_delivery_modes_supported and backchannel_authentication_endpoint are REQUIRED.
    expect(doc.backchannel_authentication_endpoint).toBe('https://op.example.com/bc-authorize');
    expect(doc.backchannel_token_delivery_modes_supported).toEqual(['poll', 'ping', 'push']);
    expect(doc.backchannel_user_code_parameter_supported).toBe(false);
    expect(doc.grant_types_supported).toContain(CIBA_GRANT_TYPE);
  });

  it('RFC 9449 §5.1 publishes dpop_signing_alg_values_supported: asymmetric algorithms only', () => {
    expect(buildDiscoveryDocument(input).dpop_signing_alg_values_supported).toEqual(['ES256', 'PS256', 'EdDSA', 'RS256']);
  });

  it('§4 omits backchannel_authentication_request_signing_alg_values_supported when signed requests are not accepted', () => {
    expect(buildDiscoveryDocument(input)).not.toHaveProperty('backchannel_authentication_request_signing_alg_values_supported');
    expect(buildDiscoveryDocument({ ...input, backchannelAuthenticationRequestSigningAlgValuesSupported: [] })).not.toHaveProperty(
      'backchannel_authentication_request_signing_alg_values_supported',
    );
  });

  it('§4 publishes the algorithms signed authentication requests (§7.1.1) may use', () => {
    const doc = buildDiscoveryDocument({ ...input, backchannelAuthenticationRequestSigningAlgValuesSupported: ['ES256', 'PS256'] });
    expect(doc.backchannel_authentication_request_signing_alg_values_supported).toEqual(['ES256', 'PS256']);
    expect(doc).not.toHaveProperty('request_parameter_supported');
  });

  it('OIDC Discovery §3 publishes every REQUIRED field', () => {
    const doc = buildDiscoveryDocument(input);
    for (const field of ['issuer', 'jwks_uri', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported']) {
      expect(doc).toHaveProperty(field);
    }
    expect(doc.token_endpoint).toBe('https://op.example.com/token');
    // OpenID Connect Core §8.1: pairwise subject identifiers per client.
    expect(doc.subject_types_supported).toEqual(['public', 'pairwise']);
    expect(doc.response_types_supported).toEqual([]);
    expect(doc).not.toHaveProperty('authorization_endpoint');
  });

  it('OIDC Discovery §3 includes optional fields only when given', () => {
    const bare = buildDiscoveryDocument(input);
    expect(bare).not.toHaveProperty('userinfo_endpoint');
    expect(bare).not.toHaveProperty('acr_values_supported');
    const full = buildDiscoveryDocument({
      ...input,
      userinfoEndpoint: 'https://op.example.com/userinfo',
      acrValuesSupported: ['urn:acr:mfa'],
      responseTypesSupported: ['code'],
    });
    expect(full.userinfo_endpoint).toBe('https://op.example.com/userinfo');
    expect(full.acr_values_supported).toEqual(['urn:acr:mfa']);
    expect(full.response_types_supported).toEqual(['code']);
  });

  it('RFC 8414 §2 / RFC 7591 §3 registration_endpoint only while dynamic registration is enabled', () => {
    expect(buildDiscoveryDocument(input)).not.toHaveProperty('registration_endpoint');
    expect(buildDiscoveryDocument({ ...input, registrationEndpoint: 'https://op.example.com/register' }).registration_endpoint).toBe('https://op.example.com/register');
  });

  it('RFC 8414 §2 introspection and revocation endpoints carry the token endpoint’s client authentication methods and algorithms', () => {
    const bare = buildDiscoveryDocument(input);
    expect(bare).not.toHaveProperty('introspection_endpoint');
    expect(bare).not.toHaveProperty('revocation_endpoint');
    const doc = buildDiscoveryDocument({
      ...input,
      tokenEndpointAuthSigningAlgValuesSupported: ['ES256', 'HS256'],
      introspectionEndpoint: 'https://op.example.com/token/introspect',
      revocationEndpoint: 'https://op.example.com/token/revoke',
    });
    expect(doc).toMatchObject({
      introspection_endpoint: 'https://op.example.com/token/introspect',
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_signing_alg_values_supported: ['ES256', 'HS256'],
      revocation_endpoint: 'https://op.example.com/token/revoke',
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_signing_alg_values_supported: ['ES256', 'HS256'],
    });
    const withoutAlgs = buildDiscoveryDocument({ ...input, introspectionEndpoint: 'https://op.example.com/token/introspect' });
    expect(withoutAlgs).not.toHaveProperty('introspection_endpoint_auth_signing_alg_values_supported');
  });

  it('RFC 8705 §3.3 publishes tls_client_certificate_bound_access_tokens only when certificate-bound tokens are issued', () => {
    expect(buildDiscoveryDocument(input)).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
    expect(buildDiscoveryDocument({ ...input, tlsClientCertificateBoundAccessTokens: false })).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
    const mtls = buildDiscoveryDocument({ ...input, tlsClientCertificateBoundAccessTokens: true, tokenEndpointAuthMethodsSupported: ['tls_client_auth', 'self_signed_tls_client_auth'] });
    expect(mtls.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(mtls.token_endpoint_auth_methods_supported).toEqual(['tls_client_auth', 'self_signed_tls_client_auth']);
  });

  it('serializes to plain JSON without sharing arrays with the input', () => {
    const scopes = ['openid'];
    const doc = buildDiscoveryDocument({ ...input, scopesSupported: scopes });
    scopes.push('admin');
    expect(JSON.parse(JSON.stringify(doc)).scopes_supported).toEqual(['openid']);
  });

  it('§4 refuses at boot a configuration without the CIBA grant or delivery modes', () => {
    expect(() => buildDiscoveryDocument({ ...input, grantTypesSupported: ['refresh_token'] })).toThrow(CIBA_GRANT_TYPE);
    expect(() => buildDiscoveryDocument({ ...input, backchannelTokenDeliveryModesSupported: [] })).toThrow(
      'backchannel_token_delivery_modes_supported',
    );
  });
});

describe('withAuthorizationDetailsTypes', () => {
  it('RFC 9396 §10 advertises authorization_details_types_supported, sorted and without duplicates', () => {
    const doc = withAuthorizationDetailsTypes(buildDiscoveryDocument(input), ['payment_initiation', 'account_information', 'payment_initiation']);
    expect(doc.authorization_details_types_supported).toEqual(['account_information', 'payment_initiation']);
    expect(doc.issuer).toBe('https://op.example.com');
  });

  it('RFC 9396 §10 leaves the field out when no client registered a type, and replaces an earlier value', () => {
    const base = buildDiscoveryDocument(input);
    expect(withAuthorizationDetailsTypes(base, [])).not.toHaveProperty('authorization_details_types_supported');
    const advertised = withAuthorizationDetailsTypes(base, ['a']);
    expect(withAuthorizationDetailsTypes(advertised, ['b']).authorization_details_types_supported).toEqual(['b']);
    expect(withAuthorizationDetailsTypes(advertised, [])).not.toHaveProperty('authorization_details_types_supported');
    expect(base).not.toHaveProperty('authorization_details_types_supported');
  });
});
