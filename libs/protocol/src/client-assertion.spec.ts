import { describe, expect, it } from '@jest/globals';
import { clientAssertionMethodOf, publicJwkSetProblem } from './client-assertion.js';

const rsaPublic = { kty: 'RSA', n: 'sXch', e: 'AQAB', kid: 'k1' };

describe('publicJwkSetProblem', () => {
  it('RFC 7517 §5 accepts a set of public signing keys', () => {
    expect(publicJwkSetProblem({ keys: [rsaPublic, { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', use: 'sig' }] })).toBeNull();
  });

  it.each([
    ['an RSA private key (d)', { ...rsaPublic, d: 'S3CR3T-VALUE' }],
    ['an RSA private key (p, q only)', { ...rsaPublic, p: 'p', q: 'q' }],
    ['an EC private key', { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'S3CR3T-VALUE' }],
    ['an OKP private key', { kty: 'OKP', crv: 'Ed25519', x: 'x', d: 'S3CR3T-VALUE' }],
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
  ])('RFC 7518 §6 refuses %s, without echoing it', (_case, key) => {
    const problem = publicJwkSetProblem({ keys: [rsaPublic, key] });
    expect(problem).toMatch(/keys\[1\]/);
    expect(problem).not.toContain('S3CR3T-VALUE');
  });

  it('refuses what is not a non-empty JWK Set, and encryption keys', () => {
    expect(publicJwkSetProblem([rsaPublic])).not.toBeNull();
    expect(publicJwkSetProblem({ keys: [] })).not.toBeNull();
    expect(publicJwkSetProblem({ keys: [{ ...rsaPublic, use: 'enc' }] })).not.toBeNull();
  });
});

describe('clientAssertionMethodOf', () => {
  it('OpenID Connect Core 1.0 §9 maps HMAC to client_secret_jwt and the provider asymmetric algorithms to private_key_jwt', () => {
    expect(clientAssertionMethodOf('HS256')).toBe('client_secret_jwt');
    expect(clientAssertionMethodOf('HS512')).toBe('client_secret_jwt');
    expect(clientAssertionMethodOf('ES256')).toBe('private_key_jwt');
    expect(clientAssertionMethodOf('EdDSA')).toBe('private_key_jwt');
  });

  it('RFC 7518 §3.6 belongs none, and algorithms the provider does not implement, to no method', () => {
    expect(clientAssertionMethodOf('none')).toBeNull();
    expect(clientAssertionMethodOf('NONE')).toBeNull();
    expect(clientAssertionMethodOf('RS1')).toBeNull();
    expect(clientAssertionMethodOf(undefined)).toBeNull();
  });
});
