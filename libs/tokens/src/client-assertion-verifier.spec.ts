import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, base64url, exportJWK, generateKeyPair } from 'jose';
import type { Client, ClientAssertionJtis } from '@ciba/domain';
import { ClientAssertionVerifier, clientSecretSealingContext, unverifiedAssertionSubject } from './client-assertion-verifier.js';
import { MemoryJtis, aClient as aBaseClient, inlineJwksCache } from '../test/client-fixtures.js';
import { KeyEncryptor } from './key-encryption.js';

const ISSUER = 'https://op.example';
const TOKEN_ENDPOINT = 'https://op.example/token';
const NOW = new Date('2026-01-01T00:00:00Z');
const nowSeconds = NOW.getTime() / 1000;
const SECRET = 'a-client-secret-of-at-least-32-characters';
const encryptor = new KeyEncryptor(base64url.encode(new Uint8Array(32).fill(7)));


const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };
const other = await generateKeyPair('ES256', { extractable: true });

const aClient = (overrides: Partial<Client> = {}): Client => aBaseClient({ tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk] }, ...overrides });

const secretClient = aClient({
  tokenEndpointAuthMethod: 'client_secret_jwt',
  jwks: null,
  clientSecretSealed: encryptor.encrypt(SECRET, clientSecretSealingContext('rp-1')),
});

function verifier(jtis: ClientAssertionJtis = new MemoryJtis()) {
  return new ClientAssertionVerifier({
    jtis,
    jwksCache: inlineJwksCache(),
    encryptor,
    clock: { now: () => NOW },
    issuer: ISSUER,
    maxLifetimeMs: 300_000,
    clockSkewMs: 30_000,
  });
}

interface Claims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  nbf?: number;
  jti?: string;
}

const good = (): Claims => ({ iss: 'rp-1', sub: 'rp-1', aud: TOKEN_ENDPOINT, exp: nowSeconds + 60, iat: nowSeconds, jti: randomUUID() });

async function signed(claims: Claims, key: CryptoKey | Uint8Array = privateKey, header: Record<string, unknown> = { alg: 'ES256', kid: 'k1' }): Promise<string> {
  const { iss: _i, ...rest } = claims;
  return new SignJWT({ ...rest, ...(claims.iss === undefined ? {} : { iss: claims.iss }) }).setProtectedHeader(header as { alg: string }).sign(key);
}

const hmac = (claims: Claims, alg = 'HS256') => signed(claims, new TextEncoder().encode(SECRET), { alg });

describe('ClientAssertionVerifier: private_key_jwt', () => {
  it('RFC 7523 §3 accepts a fresh assertion whose aud is the token endpoint, the issuer, or an array holding one of them', async () => {
    const v = verifier();
    expect(await v.verify(aClient(), await signed(good()), TOKEN_ENDPOINT)).toEqual({ ok: true });
    expect(await v.verify(aClient(), await signed({ ...good(), aud: ISSUER }), TOKEN_ENDPOINT)).toEqual({ ok: true });
    expect(await v.verify(aClient(), await signed({ ...good(), aud: [ISSUER] }), TOKEN_ENDPOINT)).toEqual({ ok: true });
  });

  it('RFC 7523 §3 rejects an assertion whose aud is another server', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), aud: 'https://other.example/token' }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 rejects an assertion for another endpoint of this provider', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), aud: `${ISSUER}/bc-authorize` }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 (7) rejects a replayed jti', async () => {
    const v = verifier();
    const assertion = await signed(good());
    expect(await v.verify(aClient(), assertion, TOKEN_ENDPOINT)).toEqual({ ok: true });
    expect(await v.verify(aClient(), assertion, TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'jti_replayed' });
  });

  it('RFC 7523 §3 (7) rejects an assertion without jti', async () => {
    const { jti: _jti, ...claims } = good();
    expect(await verifier().verify(aClient(), await signed(claims), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 (4) rejects an expired assertion, and one without exp', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), exp: nowSeconds - 31 }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
    const { exp: _exp, ...claims } = good();
    expect(await verifier().verify(aClient(), await signed(claims), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 (4) rejects an assertion that lives longer than the bounded lifetime', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), exp: nowSeconds + 3600 }), TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'exp_too_far' });
  });

  it('RFC 7523 §3 (5)(6) rejects an assertion not yet valid or issued in the future', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), nbf: nowSeconds + 120 }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
    expect(await verifier().verify(aClient(), await signed({ ...good(), iat: nowSeconds + 120 }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 (1)(2) rejects a wrong iss or sub', async () => {
    expect(await verifier().verify(aClient(), await signed({ ...good(), iss: 'rp-2' }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
    expect(await verifier().verify(aClient(), await signed({ ...good(), sub: 'rp-2' }), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7523 §3 (9) rejects a signature by a key the client did not register', async () => {
    expect(await verifier().verify(aClient(), await signed(good(), other.privateKey), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7518 §3.6 rejects alg none', async () => {
    const unsecured = new UnsecuredJWT({ ...good() }).encode();
    expect(await verifier().verify(aClient(), unsecured, TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'alg_not_allowed' });
  });

  it('RFC 8725 §2.1 rejects HS256 keyed with the client public key (algorithm confusion)', async () => {
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(publicJwk));
    const confused = await signed(good(), publicKeyBytes, { alg: 'HS256', kid: 'k1' });
    expect(await verifier().verify(aClient(), confused, TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'method_not_registered' });
  });

  it('OpenID Connect Registration §2 holds a client to its token_endpoint_auth_signing_alg', async () => {
    expect(await verifier().verify(aClient({ tokenEndpointAuthSigningAlg: 'PS256' }), await signed(good()), TOKEN_ENDPOINT)).toEqual({
      ok: false,
      reason: 'alg_not_registered',
    });
  });

  it('rejects an assertion from a client registered for another method', async () => {
    expect(await verifier().verify(aClient({ tokenEndpointAuthMethod: 'client_secret_basic' }), await signed(good()), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('RFC 7517 §5 refuses to verify with a registered set that holds a private key', async () => {
    const leaked = { ...(await exportJWK(privateKey)), kid: 'k1' } as Record<string, unknown>;
    expect(await verifier().verify(aClient({ jwks: { keys: [leaked] } }), await signed(good()), TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('rejects a malformed assertion', async () => {
    const assertion = await signed(good());
    const [h, , s] = assertion.split('.');
    expect(await verifier().verify(aClient(), `${h}.bm90IGpzb24.${s}`, TOKEN_ENDPOINT)).toMatchObject({ ok: false });
    expect(await verifier().verify(aClient(), 'e30.e30.e30', TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });
});

describe('ClientAssertionVerifier: client_secret_jwt', () => {
  it('OpenID Connect Core 1.0 §9 accepts an HMAC keyed with the client secret (HS256, HS512)', async () => {
    expect(await verifier().verify(secretClient, await hmac(good()), TOKEN_ENDPOINT)).toEqual({ ok: true });
    expect(await verifier().verify(secretClient, await hmac(good(), 'HS512'), TOKEN_ENDPOINT)).toEqual({ ok: true });
  });

  it('OpenID Connect Core 1.0 §9 rejects an HMAC keyed with another secret', async () => {
    const wrong = await signed(good(), new TextEncoder().encode('another-secret-of-at-least-32-characters'), { alg: 'HS256' });
    expect(await verifier().verify(secretClient, wrong, TOKEN_ENDPOINT)).toMatchObject({ ok: false });
  });

  it('rejects an asymmetric assertion from a client_secret_jwt client', async () => {
    expect(await verifier().verify(secretClient, await signed(good()), TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'method_not_registered' });
  });

  it('RFC 7523 §3 (7) rejects a replayed jti', async () => {
    const v = verifier();
    const assertion = await hmac(good());
    expect(await v.verify(secretClient, assertion, TOKEN_ENDPOINT)).toEqual({ ok: true });
    expect(await v.verify(secretClient, assertion, TOKEN_ENDPOINT)).toEqual({ ok: false, reason: 'jti_replayed' });
  });
});

describe('unverifiedAssertionSubject', () => {
  it('names the client an assertion claims to come from, or nothing', async () => {
    expect(unverifiedAssertionSubject(await signed(good()))).toBe('rp-1');
    expect(unverifiedAssertionSubject('not.a.jwt')).toBeNull();
  });
});
