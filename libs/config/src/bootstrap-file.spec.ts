import { describe, expect, it } from '@jest/globals';
import { parseBootstrap } from './bootstrap-file.js';

const client = { client_id: 'c1', client_secret: 'long-enough-secret' };

describe('bootstrap file: authorization_details_types', () => {
  it('RFC 9396 §10 registers no type by default', () => {
    expect(parseBootstrap({ clients: [client] }).clients[0].authorization_details_types).toEqual([]);
  });

  it('RFC 9396 §10 reads the types a client registers', () => {
    const data = parseBootstrap({ clients: [{ ...client, authorization_details_types: ['payment_initiation', 'account_information'] }] });
    expect(data.clients[0].authorization_details_types).toEqual(['payment_initiation', 'account_information']);
  });

  it.each([
    [['payment_initiation', 'payment_initiation'], /twice/],
    [[''], /authorization_details_types/],
    ['payment_initiation', /authorization_details_types/],
    [[42], /authorization_details_types/],
  ])('RFC 9396 §10 refuses %p', (types, message) => {
    expect(() => parseBootstrap({ clients: [{ ...client, authorization_details_types: types }] })).toThrow(message);
  });
});

describe('bootstrap file: client assertions (RFC 7523)', () => {
  const rsaPublic = { kty: 'RSA', n: 'sXch', e: 'AQAB', kid: 'k1' };
  const keyClient = { client_id: 'k1', token_endpoint_auth_method: 'private_key_jwt' };

  it('RFC 7591 §2 registers a private_key_jwt client by jwks or by jwks_uri, without a secret', () => {
    expect(parseBootstrap({ clients: [{ ...keyClient, jwks: { keys: [rsaPublic] } }] }).clients[0].jwks).toEqual({ keys: [rsaPublic] });
    expect(parseBootstrap({ clients: [{ ...keyClient, jwks_uri: 'https://rp.example/jwks' }] }).clients[0].jwks_uri).toBe('https://rp.example/jwks');
  });

  it.each([
    ['neither jwks nor jwks_uri', keyClient, /exactly one of jwks and jwks_uri/],
    ['both jwks and jwks_uri', { ...keyClient, jwks: { keys: [rsaPublic] }, jwks_uri: 'https://rp.example/jwks' }, /exactly one/],
    ['a private key in jwks', { ...keyClient, jwks: { keys: [{ ...rsaPublic, d: 'x' }] } }, /private or secret key material/],
    ['a plain http jwks_uri', { ...keyClient, jwks_uri: 'http://rp.example/jwks' }, /jwks_uri must use https/],
    ['an HMAC signing alg for private_key_jwt', { ...keyClient, jwks: { keys: [rsaPublic] }, token_endpoint_auth_signing_alg: 'HS256' }, /does not fit/],
    ['alg none', { ...keyClient, jwks: { keys: [rsaPublic] }, token_endpoint_auth_signing_alg: 'none' }, /token_endpoint_auth_signing_alg/],
    ['a short client_secret_jwt secret', { client_id: 's1', client_secret: 'short-secret', token_endpoint_auth_method: 'client_secret_jwt' }, /at least 32/],
    ['both jwks and jwks_uri for a secret method', { ...client, jwks: { keys: [rsaPublic] }, jwks_uri: 'https://rp.example/jwks' }, /at most one of jwks and jwks_uri/],
    ['a private key in a secret method client jwks', { ...client, jwks: { keys: [{ ...rsaPublic, d: 'x' }] } }, /private or secret key material/],
    ['a secret method without a secret', { client_id: 'c2' }, /client_secret is required/],
  ])('refuses %s', (_case, entry, message) => {
    expect(() => parseBootstrap({ clients: [entry] })).toThrow(message);
  });
});

describe('bootstrap file: signed authentication requests (CIBA §7.1.1)', () => {
  const rsaPublic = { kty: 'RSA', n: 'sXch', e: 'AQAB', kid: 'k1' };

  it('§4 a client of any authentication method may register public keys to sign its requests with', () => {
    const data = parseBootstrap({ clients: [{ ...client, jwks: { keys: [rsaPublic] }, backchannel_authentication_request_signing_alg: 'PS256' }] });
    expect(data.clients[0].jwks).toEqual({ keys: [rsaPublic] });
    expect(data.clients[0].backchannel_authentication_request_signing_alg).toBe('PS256');
    expect(parseBootstrap({ clients: [client] }).clients[0].backchannel_authentication_request_signing_alg).toBeUndefined();
  });

  it.each([
    ['no keys to verify the requests with', { ...client, backchannel_authentication_request_signing_alg: 'ES256' }, /needs the public keys/],
    ['alg none', { ...client, jwks: { keys: [rsaPublic] }, backchannel_authentication_request_signing_alg: 'none' }, /backchannel_authentication_request_signing_alg/],
    ['an HMAC alg', { ...client, jwks: { keys: [rsaPublic] }, backchannel_authentication_request_signing_alg: 'HS256' }, /backchannel_authentication_request_signing_alg/],
  ])('§4 backchannel_authentication_request_signing_alg: refuses %s', (_case, entry, message) => {
    expect(() => parseBootstrap({ clients: [entry] })).toThrow(message);
  });
});

describe('bootstrap file: the fapi-ciba client profile', () => {
  const fapiClient = {
    client_id: 'bank-app',
    client_profile: 'fapi-ciba',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'PS256',
    jwks_uri: 'https://bank.example/jwks.json',
    backchannel_authentication_request_signing_alg: 'PS256',
    id_token_signed_response_alg: 'ES256',
    dpop_bound_access_tokens: true,
  };

  it('FAPI-CIBA §5.2.2 registers a client that fits the profile', () => {
    expect(parseBootstrap({ clients: [fapiClient] }).clients[0].client_profile).toBe('fapi-ciba');
    expect(parseBootstrap({ clients: [client] }).clients[0].client_profile).toBeUndefined();
  });

  it('FAPI-CIBA §5.2.2 refuses a fapi-ciba client that breaks the profile, naming each rule', () => {
    expect(() => parseBootstrap({ clients: [{ ...fapiClient, backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'https://bank.example/cb' }] })).toThrow(
      'fapi-ciba does not allow the push token delivery mode',
    );
    expect(() => parseBootstrap({ clients: [{ ...fapiClient, dpop_bound_access_tokens: false }] })).toThrow('fapi-ciba needs sender-constrained access tokens');
    expect(() => parseBootstrap({ clients: [{ ...fapiClient, backchannel_authentication_request_signing_alg: undefined }] })).toThrow('fapi-ciba needs signed authentication requests');
    expect(() => parseBootstrap({ clients: [{ ...fapiClient, token_endpoint_auth_method: 'client_secret_basic', client_secret: 'long-enough-secret', token_endpoint_auth_signing_alg: undefined }] })).toThrow(
      'fapi-ciba needs token_endpoint_auth_method',
    );
  });

  it('refuses an unknown profile', () => {
    expect(() => parseBootstrap({ clients: [{ ...client, client_profile: 'fapi2' }] })).toThrow('client_profile');
  });
});

describe('bootstrap file: mutual-TLS clients (RFC 8705)', () => {
  const tlsClient = { client_id: 'rp-mtls', token_endpoint_auth_method: 'tls_client_auth' };
  const certKey = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', x5c: ['MIIB'] };
  const selfSigned = { client_id: 'rp-self', token_endpoint_auth_method: 'self_signed_tls_client_auth' };

  it('RFC 8705 §2.1.2 registers a tls_client_auth client by one subject, without a secret, and §3 certificate-bound tokens', () => {
    const data = parseBootstrap({ clients: [{ ...tlsClient, tls_client_auth_subject_dn: 'CN=rp.example.com,O=Example,C=GB', tls_client_certificate_bound_access_tokens: true }] });
    expect(data.clients[0].tls_client_auth_subject_dn).toBe('CN=rp.example.com,O=Example,C=GB');
    expect(data.clients[0].tls_client_certificate_bound_access_tokens).toBe(true);
    expect(parseBootstrap({ clients: [{ ...tlsClient, tls_client_auth_san_ip: '2001:db8::1' }] }).clients[0].tls_client_certificate_bound_access_tokens).toBe(false);
  });

  it('RFC 8705 §2.2 registers a self_signed_tls_client_auth client by keys carrying their certificate', () => {
    expect(parseBootstrap({ clients: [{ ...selfSigned, jwks: { keys: [certKey] } }] }).clients[0].jwks).toEqual({ keys: [certKey] });
    expect(parseBootstrap({ clients: [{ ...selfSigned, jwks_uri: 'https://rp.example/jwks' }] }).clients[0].jwks_uri).toBe('https://rp.example/jwks');
  });

  it.each([
    ['RFC 8705 §2.1.2 a tls_client_auth client without a subject', tlsClient, /exactly one of tls_client_auth_subject_dn/],
    ['RFC 8705 §2.1.2 two subjects', { ...tlsClient, tls_client_auth_san_dns: 'rp.example.com', tls_client_auth_san_uri: 'https://rp.example.com' }, /exactly one of/],
    ['RFC 8705 §2.1.2 a subject DN that is not RFC 4514', { ...tlsClient, tls_client_auth_subject_dn: 'rp.example.com' }, /RFC 4514/],
    ['RFC 8705 §2.1.2 a SAN IP that is not an address', { ...tlsClient, tls_client_auth_san_ip: '10.0.0.256' }, /IPv4 or IPv6/],
    ['RFC 8705 §2.1.2 a subject registered for another method', { ...client, tls_client_auth_san_dns: 'rp.example.com' }, /only for tls_client_auth/],
    ['RFC 8705 §2.2 a self-signed client without keys', selfSigned, /exactly one of jwks and jwks_uri/],
    ['RFC 8705 §2.2 keys without a certificate', { ...selfSigned, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] } }, /x5c/],
    ['RFC 8705 §3 bound tokens in push mode', { ...client, tls_client_certificate_bound_access_tokens: true, backchannel_token_delivery_mode: 'push', backchannel_client_notification_endpoint: 'https://rp.example/cb' }, /poll or ping/],
  ])('refuses %s', (_case, entry, message) => {
    expect(() => parseBootstrap({ clients: [entry] })).toThrow(message);
  });
});
