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
