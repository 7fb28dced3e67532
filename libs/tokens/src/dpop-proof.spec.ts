import { KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, base64url, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type { ClientAssertionJtis } from '@ciba/domain';
import { MemoryJtis } from '../test/client-fixtures.js';
import { TEST_ENCRYPTION_KEY, TestClock } from '../test/in-memory-signing-key.repository.js';
import { DpopNonces } from './dpop-nonce.js';
import { DpopProofVerifier, type DpopRequest } from './dpop-proof.js';


const TOKEN_URL = 'https://op.example.com/token';
const TOKEN_REQUEST: DpopRequest = { method: 'POST', uri: TOKEN_URL };

const es256 = await generateKeyPair('ES256', { extractable: true });
const es256Jwk = await exportJWK(es256.publicKey);

function setup(options: { nonces?: boolean; jtis?: ClientAssertionJtis } = {}) {
  const clock = new TestClock();
  const nonces = options.nonces ? new DpopNonces(TEST_ENCRYPTION_KEY, { lifetimeSeconds: 300, now: () => clock.now() }) : null;
  const jtis = options.jtis ?? new MemoryJtis();
  const verifier = new DpopProofVerifier({ jtis, clock, iatWindowSeconds: 60, nonces });
  return { clock, nonces, verifier, jtis };
}

let counter = 0;
/** A proof as RFC 9449 §4.2 describes it; `claims` and `header` override or (undefined) remove members. */
async function proof(
  clock: TestClock,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  key: CryptoKey = es256.privateKey,
): Promise<string> {
  counter += 1;
  const body = strip({ jti: `jti-${counter}-${Math.random()}`, htm: 'POST', htu: TOKEN_URL, iat: Math.floor(clock.now().getTime() / 1000), ...claims });
  const protectedHeader = strip({ alg: 'ES256', typ: 'dpop+jwt', jwk: es256Jwk, ...header });
  return new SignJWT(body).setProtectedHeader(protectedHeader as { alg: string }).sign(key);
}

function strip(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

const invalid = (reason: RegExp) => ({ ok: false, error: 'invalid_dpop_proof', reason: expect.stringMatching(reason) });

describe('DpopProofVerifier (RFC 9449 §4.3)', () => {
  it('RFC 9449 §4.3 accepts a valid proof and answers the RFC 7638 thumbprint of its key (§6.1 jkt)', async () => {
    const { clock, verifier } = setup();
    const verdict = await verifier.verify(await proof(clock), TOKEN_REQUEST);
    expect(verdict).toEqual({ ok: true, jkt: await calculateJwkThumbprint(es256Jwk, 'sha256') });
  });

  it('RFC 9449 §4.3 accepts every allow-listed algorithm: ES256, PS256, EdDSA, RS256', async () => {
    const { clock, verifier } = setup();
    for (const alg of ['ES256', 'PS256', 'EdDSA', 'RS256']) {
      const pair = await generateKeyPair(alg);
      const jwk = await exportJWK(pair.publicKey);
      expect(await verifier.verify(await proof(clock, {}, { alg, jwk }, pair.privateKey), TOKEN_REQUEST)).toEqual({ ok: true, jkt: await calculateJwkThumbprint(jwk) });
    }
  });

  it('RFC 9449 §4.3 (2) refuses what is not a well-formed JWT, and an oversized proof before parsing it', async () => {
    const { clock, verifier } = setup();
    for (const text of ['', 'x', 'a.b', 'a.b.c.d.e', '!!.??.**', `${'a'.repeat(10)}.${'b'.repeat(10)}.`]) {
      expect(await verifier.verify(text, TOKEN_REQUEST)).toEqual(invalid(/compact JWS|malformed/));
    }
    expect(await verifier.verify(await proof(clock, { padding: 'p'.repeat(9000) }), TOKEN_REQUEST)).toEqual(invalid(/too large/));
  });

  it('RFC 9449 §4.3 (3) refuses a proof missing jti, htm, htu or iat', async () => {
    const { clock, verifier } = setup();
    for (const claim of ['jti', 'htm', 'htu', 'iat']) {
      expect(await verifier.verify(await proof(clock, { [claim]: undefined }), TOKEN_REQUEST)).toMatchObject({ ok: false, error: 'invalid_dpop_proof' });
    }
  });

  it('RFC 9449 §4.3 (4) refuses a typ other than dpop+jwt (a plain JWT, an access token)', async () => {
    const { clock, verifier } = setup();
    for (const typ of [undefined, 'JWT', 'at+jwt', 'dpop']) {
      expect(await verifier.verify(await proof(clock, {}, { typ }), TOKEN_REQUEST)).toEqual(invalid(/typ/));
    }
  });

  it('RFC 9449 §4.3 (5) refuses alg none, a MAC (HS256) and algorithms off the allow-list', async () => {
    const { clock, verifier } = setup();
    const good = await proof(clock);
    const [, payload] = good.split('.');
    const noneHeader = base64url.encode(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: es256Jwk }));
    expect(await verifier.verify(`${noneHeader}.${payload}.AA`, TOKEN_REQUEST)).toEqual(invalid(/alg/));
    const secret = new TextEncoder().encode('s'.repeat(32));
    const hs = await new SignJWT({ jti: 'h', htm: 'POST', htu: TOKEN_URL, iat: Math.floor(clock.now().getTime() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: base64url.encode(secret) } } as unknown as { alg: string })
      .sign(secret);
    expect(await verifier.verify(hs, TOKEN_REQUEST)).toEqual(invalid(/alg/));
    const es384 = await generateKeyPair('ES384');
    expect(await verifier.verify(await proof(clock, {}, { alg: 'ES384', jwk: await exportJWK(es384.publicKey) }, es384.privateKey), TOKEN_REQUEST)).toEqual(invalid(/alg/));
  });

  it('RFC 9449 §4.3 (6) refuses a proof whose signature is not by the key in its header (or altered after signing)', async () => {
    const { clock, verifier } = setup();
    const other = await generateKeyPair('ES256');
    expect(await verifier.verify(await proof(clock, {}, {}, other.privateKey), TOKEN_REQUEST)).toEqual(invalid(/signature/));
    const [header, , signature] = (await proof(clock)).split('.');
    const altered = base64url.encode(JSON.stringify({ jti: 'x', htm: 'POST', htu: TOKEN_URL, iat: Math.floor(clock.now().getTime() / 1000) }));
    expect(await verifier.verify(`${header}.${altered}.${signature}`, TOKEN_REQUEST)).toEqual(invalid(/signature/));
  });

  it('RFC 9449 §4.3 (7) refuses a jwk holding the private key, a symmetric key, or no jwk', async () => {
    const { clock, verifier } = setup();
    const privateJwk = await exportJWK(es256.privateKey);
    expect(await verifier.verify(await proof(clock, {}, { jwk: privateJwk }), TOKEN_REQUEST)).toEqual(invalid(/private/));
    expect(await verifier.verify(await proof(clock, {}, { jwk: { kty: 'oct', k: 'c2VjcmV0' } }), TOKEN_REQUEST)).toEqual(invalid(/asymmetric/));
    expect(await verifier.verify(await proof(clock, {}, { jwk: undefined }), TOKEN_REQUEST)).toEqual(invalid(/jwk/));
    expect(await verifier.verify(await proof(clock, {}, { jwk: 'key' }), TOKEN_REQUEST)).toEqual(invalid(/jwk/));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaPrivate = rsa.privateKey.export({ format: 'jwk' }) as JWK;
    expect(await verifier.verify(await proof(clock, {}, { jwk: rsaPrivate }), TOKEN_REQUEST)).toEqual(invalid(/private/));
  });

  it('RFC 9449 §4.3 (8) refuses a proof whose htm differs from the request method', async () => {
    const { clock, verifier } = setup();
    for (const htm of ['GET', 'post', 'PUT']) expect(await verifier.verify(await proof(clock, { htm }), TOKEN_REQUEST)).toEqual(invalid(/htm/));
  });

  it('RFC 9449 §4.3 (9) refuses a proof whose htu differs; query and fragment are ignored, the URI normalized', async () => {
    const { clock, verifier } = setup();
    for (const htu of ['https://op.example.com/userinfo', 'https://attacker.example/token', 'http://op.example.com/token', 'https://op.example.com:8443/token', 'https://op.example.com/token/', 'token', 'https://u:p@op.example.com/token', 42]) {
      expect(await verifier.verify(await proof(clock, { htu }), TOKEN_REQUEST)).toEqual(invalid(/htu/));
    }
    for (const htu of ['https://op.example.com/token?x=1', 'https://op.example.com/token#f', 'HTTPS://OP.EXAMPLE.COM:443/token', 'https://op.example.com/a/../token']) {
      expect(await verifier.verify(await proof(clock, { htu }), TOKEN_REQUEST)).toMatchObject({ ok: true });
    }
  });

  it('RFC 9449 §4.3 (11) refuses a proof created outside the iat window, in the past or the future', async () => {
    const { clock, verifier } = setup();
    const now = Math.floor(clock.now().getTime() / 1000);
    expect(await verifier.verify(await proof(clock, { iat: now - 61 }), TOKEN_REQUEST)).toEqual(invalid(/iat/));
    expect(await verifier.verify(await proof(clock, { iat: now + 61 }), TOKEN_REQUEST)).toEqual(invalid(/iat/));
    expect(await verifier.verify(await proof(clock, { iat: now - 59 }), TOKEN_REQUEST)).toMatchObject({ ok: true });
    const old = await proof(clock);
    clock.advance(120);
    expect(await verifier.verify(old, TOKEN_REQUEST)).toEqual(invalid(/iat/));
  });

  it('RFC 9449 §11.1 refuses a replayed proof (jti single use per key); another key may use the same jti', async () => {
    const { clock, verifier, jtis } = setup();
    const once = await proof(clock, { jti: 'same' });
    expect(await verifier.verify(once, TOKEN_REQUEST)).toMatchObject({ ok: true });
    expect(await verifier.verify(once, TOKEN_REQUEST)).toEqual(invalid(/already used/));
    const other = await generateKeyPair('ES256');
    expect(await verifier.verify(await proof(clock, { jti: 'same' }, { jwk: await exportJWK(other.publicKey) }, other.privateKey), TOKEN_REQUEST)).toMatchObject({ ok: true });
    // Remembered as long as its iat is acceptable.
    expect([...(jtis as MemoryJtis).seen.values()][0]?.getTime()).toBe((Math.floor(clock.now().getTime() / 1000) + 61) * 1000);
    expect(await verifier.verify(await proof(clock, { jti: 'j'.repeat(256) }), TOKEN_REQUEST)).toEqual(invalid(/jti/));
  });

  it('RFC 9449 §4.3 (10) / §7 at a resource: refuses a proof without ath, or with the ath of another token', async () => {
    const { clock, verifier } = setup();
    const request = { method: 'GET', uri: 'https://op.example.com/userinfo', accessToken: 'the.access.token' };
    const ath = createHash('sha256').update('the.access.token').digest('base64url');
    const at = (claims: Record<string, unknown>) => proof(clock, { htm: 'GET', htu: request.uri, ...claims });
    expect(await verifier.verify(await at({ ath }), request)).toMatchObject({ ok: true });
    expect(await verifier.verify(await at({}), request)).toEqual(invalid(/ath/));
    expect(await verifier.verify(await at({ ath: createHash('sha256').update('another.token').digest('base64url') }), request)).toEqual(invalid(/ath/));
  });

  it('RFC 9449 §7.1 at a resource: a proof by another key than the token’s cnf.jkt is refused before its jti is recorded', async () => {
    const { clock, verifier, jtis } = setup();
    const request = { method: 'GET', uri: 'https://op.example.com/userinfo', accessToken: 't', boundJkt: 'another-thumbprint' };
    const ath = createHash('sha256').update('t').digest('base64url');
    expect(await verifier.verify(await proof(clock, { htm: 'GET', htu: request.uri, ath }), request)).toEqual(invalid(/not the key/));
    expect((jtis as MemoryJtis).seen.size).toBe(0);
    const own = { ...request, boundJkt: await calculateJwkThumbprint(es256Jwk) };
    expect(await verifier.verify(await proof(clock, { htm: 'GET', htu: request.uri, ath }), own)).toMatchObject({ ok: true });
  });

  it('refuses a proof with a crit header it does not understand', async () => {
    const { clock, verifier } = setup();
    const header = base64url.encode(JSON.stringify({ alg: 'ES256', typ: 'dpop+jwt', jwk: es256Jwk, crit: ['ext'], ext: 1 }));
    const payload = base64url.encode(JSON.stringify({ jti: 'c', htm: 'POST', htu: TOKEN_URL, iat: Math.floor(clock.now().getTime() / 1000) }));
    // Signed by hand: jose refuses to sign with an extension it does not know either.
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: KeyObject.from(es256.privateKey), dsaEncoding: 'ieee-p1363' });
    expect(await verifier.verify(`${header}.${payload}.${signature.toString('base64url')}`, TOKEN_REQUEST)).toEqual(invalid(/crit/));
  });
});

describe('DpopProofVerifier with server nonces (RFC 9449 §8, §9)', () => {
  it('RFC 9449 §8 a proof without a nonce is use_dpop_nonce; with the current one it passes', async () => {
    const { clock, verifier } = setup({ nonces: true });
    expect(await verifier.verify(await proof(clock), TOKEN_REQUEST)).toEqual({ ok: false, error: 'use_dpop_nonce', reason: 'a DPoP nonce is required' });
    const nonce = verifier.currentNonce();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await verifier.verify(await proof(clock, { nonce }), TOKEN_REQUEST)).toMatchObject({ ok: true });
  });

  it('RFC 9449 §8 a forged or stale nonce is use_dpop_nonce; the previous step’s nonce is still accepted', async () => {
    const { clock, verifier } = setup({ nonces: true });
    const nonce = verifier.currentNonce();
    for (const bad of ['forged', 'A'.repeat(43), `${nonce}x`, 42, '']) {
      expect(await verifier.verify(await proof(clock, { nonce: bad }), TOKEN_REQUEST)).toMatchObject({ ok: false, error: 'use_dpop_nonce' });
    }
    clock.advance(300);
    expect(verifier.currentNonce()).not.toBe(nonce);
    expect(await verifier.verify(await proof(clock, { nonce }), TOKEN_REQUEST)).toMatchObject({ ok: true });
    clock.advance(300);
    expect(await verifier.verify(await proof(clock, { nonce }), TOKEN_REQUEST)).toEqual({ ok: false, error: 'use_dpop_nonce', reason: 'the DPoP nonce is stale or unknown' });
  });

  it('RFC 9449 §8 nonces are the same on every replica (same key) and differ under another key', () => {
    const clock = new TestClock();
    const a = new DpopNonces(TEST_ENCRYPTION_KEY, { lifetimeSeconds: 300, now: () => clock.now() });
    const b = new DpopNonces(TEST_ENCRYPTION_KEY, { lifetimeSeconds: 300, now: () => clock.now() });
    const other = new DpopNonces(Buffer.alloc(32, 9).toString('base64url'), { lifetimeSeconds: 300, now: () => clock.now() });
    expect(b.isValid(a.current())).toBe(true);
    expect(other.current()).not.toBe(a.current());
    expect(other.isValid(a.current())).toBe(false);
  });

  it('without nonces configured, a proof with any nonce is accepted (the nonce is the client’s business)', async () => {
    const { clock, verifier } = setup();
    expect(verifier.currentNonce()).toBeNull();
    expect(await verifier.verify(await proof(clock, { nonce: 'whatever' }), TOKEN_REQUEST)).toMatchObject({ ok: true });
  });
});
