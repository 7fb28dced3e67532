import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { AUTH_REQ_ID_CLAIM, RT_HASH_CLAIM, SIGNING_ALGS, type SigningAlg } from '@ciba/protocol';
import { InMemorySigningKeyRepository, TEST_ENCRYPTION_KEY, TestClock } from '../test/in-memory-signing-key.repository.js';
import { KeyEncryptor } from './key-encryption.js';
import { KeyStore } from './key-store.js';
import { sha256Base64url } from './random.js';
import { TokenMinter, halfHash, type MintInput, type TokenMinterOptions } from './token-minter.js';

const ISSUER = 'https://op.example.com';
const AUTH_TIME = new Date('2024-12-31T23:59:00Z');

async function setup(alg: SigningAlg = 'ES256', overrides: Partial<TokenMinterOptions> = {}) {
  const clock = new TestClock();
  const keyStore = new KeyStore({ repository: new InMemorySigningKeyRepository(), encryptor: new KeyEncryptor(TEST_ENCRYPTION_KEY), clock, algs: [alg] });
  await keyStore.init();
  const minter = new TokenMinter({ keyStore, issuer: ISSUER, clock, accessTokenTtl: 600, idTokenTtl: 300, refreshTokenTtl: 86_400, ...overrides });
  // Verify against the published document, as a relying party would.
  const jwks = createLocalJWKSet(keyStore.jwks());
  return { clock, keyStore, minter, jwks };
}

const input = (extra: Partial<MintInput> = {}): MintInput => ({
  clientId: 'client-1',
  subject: 'user-42',
  scope: ['openid', 'email'],
  authTime: AUTH_TIME,
  acr: 'urn:acr:mfa',
  authReqId: 'req-abc',
  requestId: 'request-1',
  includeRefreshToken: true,
  ...extra,
});

/** Independent of `halfHash`: OIDC Core §3.1.3.6 spelled out. */
function expectedHalfHash(token: string, digest: 'sha256' | 'sha512'): string {
  const full = createHash(digest).update(Buffer.from(token, 'ascii')).digest();
  return full.subarray(0, full.length / 2).toString('base64url');
}

describe('TokenMinter', () => {
  it('returns a Bearer token response', async () => {
    const { minter } = await setup();
    const tokens = await minter.mint(input());
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 600, scope: 'openid email' });
    expect(tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('RFC 9068 §2.1 access token header has typ at+jwt and the signing kid', async () => {
    const { minter, keyStore } = await setup();
    const { accessToken } = await minter.mint(input());
    expect(decodeProtectedHeader(accessToken)).toEqual({ alg: 'ES256', kid: keyStore.signingKey().kid, typ: 'at+jwt' });
  });

  it('RFC 9068 §2.2 access token carries iss, sub, aud, client_id, scope, iat, exp, jti, auth_time, acr', async () => {
    const { minter, jwks, clock } = await setup();
    const { accessToken } = await minter.mint(input());
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', currentDate: clock.now() });
    const iat = Math.floor(clock.now().getTime() / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'user-42',
      aud: ISSUER,
      client_id: 'client-1',
      scope: 'openid email',
      iat,
      exp: iat + 600,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      auth_time: Math.floor(AUTH_TIME.getTime() / 1000),
      acr: 'urn:acr:mfa',
    });
    const second = await minter.mint(input());
    expect((await jwtVerify(second.accessToken, jwks, { currentDate: clock.now() })).payload.jti).not.toBe(payload.jti);
  });

  it('OpenID Connect Core §8.1 a pairwise subjectClaim is the sub of both tokens; the refresh token keeps the user’s own', async () => {
    const { minter, jwks, clock } = await setup();
    const tokens = await minter.mint(input({ subjectClaim: 'pairwise-xyz' }));
    expect((await jwtVerify(tokens.accessToken, jwks, { currentDate: clock.now() })).payload.sub).toBe('pairwise-xyz');
    expect((await jwtVerify(tokens.idToken, jwks, { currentDate: clock.now() })).payload.sub).toBe('pairwise-xyz');
    expect(tokens.refreshTokenRecord?.subject).toBe('user-42');
  });

  it('RFC 9068 §3 access token audience is configurable (resource indicator)', async () => {
    const { minter, jwks, clock } = await setup('ES256', { accessTokenAudience: 'https://api.example.com' });
    const { accessToken } = await minter.mint(input({ acr: null }));
    const { payload } = await jwtVerify(accessToken, jwks, { audience: 'https://api.example.com', currentDate: clock.now() });
    expect(payload).not.toHaveProperty('acr');
  });

  it('OIDC Core §2 ID token has iss, sub, aud = client, exp, iat, auth_time, acr and the requested claims', async () => {
    const { minter, jwks, clock, keyStore } = await setup();
    const { idToken } = await minter.mint(input({ claims: { email: 'a@example.com', email_verified: true } }));
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'client-1', currentDate: clock.now() });
    const iat = Math.floor(clock.now().getTime() / 1000);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: keyStore.signingKey().kid, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: 'user-42',
      aud: 'client-1',
      iat,
      exp: iat + 300,
      auth_time: Math.floor(AUTH_TIME.getTime() / 1000),
      acr: 'urn:acr:mfa',
      email: 'a@example.com',
      email_verified: true,
    });
  });

  it('OIDC Core §3.1.3.6 at_hash is the left half of SHA-256 of the access token', async () => {
    const { minter, jwks, clock } = await setup();
    const { idToken, accessToken } = await minter.mint(input());
    const { payload } = await jwtVerify(idToken, jwks, { currentDate: clock.now() });
    expect(payload.at_hash).toBe(expectedHalfHash(accessToken, 'sha256'));
    expect(Buffer.from(payload.at_hash as string, 'base64url')).toHaveLength(16);
  });

  it('CIBA §10.3.1 ID token carries auth_req_id claim', async () => {
    const { minter, jwks, clock } = await setup();
    const { idToken } = await minter.mint(input());
    expect((await jwtVerify(idToken, jwks, { currentDate: clock.now() })).payload[AUTH_REQ_ID_CLAIM]).toBe('req-abc');

    const refreshed = await minter.mint(input({ authReqId: null }));
    expect((await jwtVerify(refreshed.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty(AUTH_REQ_ID_CLAIM);
  });

  it('CIBA §10.3.1 push mode ID token carries rt_hash of the refresh token', async () => {
    const { minter, jwks, clock } = await setup();
    const push = await minter.mint(input({ includeRtHash: true }));
    const { payload } = await jwtVerify(push.idToken, jwks, { currentDate: clock.now() });
    expect(payload[RT_HASH_CLAIM]).toBe(expectedHalfHash(push.refreshToken!, 'sha256'));

    const poll = await minter.mint(input());
    expect((await jwtVerify(poll.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty(RT_HASH_CLAIM);
    const noRefresh = await minter.mint(input({ includeRtHash: true, includeRefreshToken: false }));
    expect((await jwtVerify(noRefresh.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty(RT_HASH_CLAIM);
  });

  it('RFC 8176 amr: in the ID token, the access token and the refresh token record when given; left out when empty', async () => {
    const { minter, jwks, clock } = await setup();
    const stepped = await minter.mint(input({ acr: 'phr', amr: ['pop', 'user', 'mfa'] }));
    expect((await jwtVerify(stepped.idToken, jwks, { currentDate: clock.now() })).payload).toMatchObject({ acr: 'phr', amr: ['pop', 'user', 'mfa'] });
    expect((await jwtVerify(stepped.accessToken, jwks, { currentDate: clock.now() })).payload).toMatchObject({ acr: 'phr', amr: ['pop', 'user', 'mfa'] });
    expect(stepped.refreshTokenRecord).toMatchObject({ acr: 'phr', amr: ['pop', 'user', 'mfa'] });
    for (const amr of [undefined, []]) {
      const plain = await minter.mint(input({ amr }));
      expect((await jwtVerify(plain.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('amr');
      expect((await jwtVerify(plain.accessToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('amr');
    }
    const forged = await minter.mint(input({ claims: { amr: ['hwk'] } }));
    expect((await jwtVerify(forged.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('amr');
  });

  it('caller claims cannot override the claims the minter owns', async () => {
    const { minter, jwks, clock } = await setup();
    const { idToken } = await minter.mint(
      input({ acr: null, claims: { iss: 'https://evil.example', sub: 'admin', aud: 'other', exp: 9_999_999_999, acr: 'forged', name: 'Ann' } }),
    );
    const { payload } = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'client-1', currentDate: clock.now() });
    expect(payload).toMatchObject({ sub: 'user-42', name: 'Ann' });
    expect(payload).not.toHaveProperty('acr');
    expect(payload.exp).toBeLessThan(9_999_999_999);
  });

  it('stores only the hash of the refresh token, with expiry, scope, authTime, acr and requestId', async () => {
    const { minter, clock } = await setup();
    const { refreshToken, refreshTokenRecord } = await minter.mint(input());
    expect(refreshTokenRecord).toEqual({
      tokenHash: sha256Base64url(refreshToken!),
      clientId: 'client-1',
      subject: 'user-42',
      scope: ['openid', 'email'],
      authTime: AUTH_TIME,
      acr: 'urn:acr:mfa',
      amr: [],
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
      requestId: 'request-1',
      authorizationDetails: null,
    });
    expect(JSON.stringify(refreshTokenRecord)).not.toContain(refreshToken!);
  });

  it('RFC 9396 §9.1 access token carries authorization_details as granted; the refresh token record keeps them; the ID token does not', async () => {
    const { minter, jwks, clock } = await setup();
    const authorizationDetails = [{ type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: 'EUR', amount: '12.00' } }];
    const tokens = await minter.mint(input({ authorizationDetails }));
    const at = await jwtVerify(tokens.accessToken, jwks, { typ: 'at+jwt', currentDate: clock.now() });
    expect(at.payload['authorization_details']).toEqual(authorizationDetails);
    expect(tokens.refreshTokenRecord?.authorizationDetails).toEqual(authorizationDetails);
    const id = await jwtVerify(tokens.idToken, jwks, { currentDate: clock.now() });
    expect(id.payload).not.toHaveProperty('authorization_details');
  });

  it('RFC 9396 §9.1 leaves authorization_details out of the access token when none were granted', async () => {
    const { minter, jwks, clock } = await setup();
    for (const authorizationDetails of [undefined, null]) {
      const { accessToken } = await minter.mint(input({ authorizationDetails }));
      expect((await jwtVerify(accessToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('authorization_details');
    }
  });

  it('RFC 7519 §4.1.7 the jti made beforehand (stored with the redemption) is the access token\'s; without one a fresh random jti each time', async () => {
    const { minter, jwks, clock } = await setup();
    const seed = minter.newAccessToken();
    expect(seed.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(seed.expiresAt.getTime()).toBe(clock.now().getTime() + 600_000);
    const minted = await minter.mint(input({ accessTokenJti: seed.jti }));
    const { payload } = await jwtVerify(minted.accessToken, jwks, { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', currentDate: clock.now() });
    expect(payload.jti).toBe(seed.jti);
    expect(minted.accessTokenJti).toBe(seed.jti);
    const [a, b] = [await minter.mint(input()), await minter.mint(input())];
    expect(a.accessTokenJti).not.toBe(b.accessTokenJti);
    expect(a.accessTokenJti).not.toBe(seed.jti);
  });

  it('omits the refresh token when not asked for', async () => {
    const { minter } = await setup();
    const tokens = await minter.mint(input({ includeRefreshToken: false }));
    expect(tokens.refreshToken).toBeNull();
    expect(tokens.refreshTokenRecord).toBeNull();
  });

  it('rejects a non-positive TTL', async () => {
    const { keyStore, clock } = await setup();
    expect(() => new TokenMinter({ keyStore, issuer: ISSUER, clock, accessTokenTtl: 0, idTokenTtl: 300, refreshTokenTtl: 1 })).toThrow(/accessTokenTtl/);
  });

  it('signs with the new kid after rotation; tokens from the old key still verify', async () => {
    const { minter, keyStore, clock } = await setup();
    const before = await minter.mint(input());
    await keyStore.rotate(600);
    const after = await minter.mint(input());
    expect(decodeProtectedHeader(after.idToken).kid).toBe(keyStore.signingKey().kid);
    expect(decodeProtectedHeader(before.idToken).kid).not.toBe(keyStore.signingKey().kid);
    const jwks = createLocalJWKSet(keyStore.jwks());
    await expect(jwtVerify(before.idToken, jwks, { currentDate: clock.now() })).resolves.toBeDefined();
    await expect(jwtVerify(after.idToken, jwks, { currentDate: clock.now() })).resolves.toBeDefined();
  });

  it.each(SIGNING_ALGS)('%s: access and ID tokens sign and verify, hashes use the alg digest', async (alg) => {
    const { minter, jwks, clock } = await setup(alg);
    const tokens = await minter.mint(input({ includeRtHash: true }));
    const at = await jwtVerify(tokens.accessToken, jwks, { typ: 'at+jwt', currentDate: clock.now() });
    const id = await jwtVerify(tokens.idToken, jwks, { audience: 'client-1', currentDate: clock.now() });
    expect(at.protectedHeader.alg).toBe(alg);
    expect(id.protectedHeader.alg).toBe(alg);
    const digest = alg === 'EdDSA' ? 'sha512' : 'sha256';
    expect(id.payload.at_hash).toBe(expectedHalfHash(tokens.accessToken, digest));
    expect(id.payload[RT_HASH_CLAIM]).toBe(expectedHalfHash(tokens.refreshToken!, digest));
  });
});

describe('TokenMinter sender-constrained access tokens (RFC 7800 cnf)', () => {
  const JKT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

  it('RFC 9449 §6.1 a DPoP-bound access token carries cnf.jkt and is of type DPoP', async () => {
    const { minter, jwks, clock } = await setup();
    const tokens = await minter.mint(input({ confirmation: { jkt: JKT } }));
    expect(tokens.tokenType).toBe('DPoP');
    const { payload } = await jwtVerify(tokens.accessToken, jwks, { typ: 'at+jwt', currentDate: clock.now() });
    expect(payload.cnf).toEqual({ jkt: JKT });
  });

  it('RFC 8705 §3.1 a certificate-bound access token carries cnf.x5t#S256 and stays of type Bearer', async () => {
    const { minter, jwks, clock } = await setup();
    const tokens = await minter.mint(input({ confirmation: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } }));
    expect(tokens.tokenType).toBe('Bearer');
    expect((await jwtVerify(tokens.accessToken, jwks, { currentDate: clock.now() })).payload.cnf).toEqual({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' });
  });

  it('RFC 7800 without a confirmation (or an empty one) the access token has no cnf and the ID token never has one', async () => {
    const { minter, jwks, clock } = await setup();
    for (const confirmation of [undefined, {}, { jkt: '' }]) {
      const tokens = await minter.mint(input(confirmation === undefined ? {} : { confirmation }));
      expect(tokens.tokenType).toBe('Bearer');
      expect((await jwtVerify(tokens.accessToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('cnf');
    }
    const bound = await minter.mint(input({ confirmation: { jkt: JKT } }));
    expect((await jwtVerify(bound.idToken, jwks, { currentDate: clock.now() })).payload).not.toHaveProperty('cnf');
  });
});

describe('TokenMinter with several algorithms', () => {
  async function severalSetup() {
    const clock = new TestClock();
    const keyStore = new KeyStore({ repository: new InMemorySigningKeyRepository(), encryptor: new KeyEncryptor(TEST_ENCRYPTION_KEY), clock, algs: ['ES256', 'RS256'] });
    await keyStore.init();
    const minter = new TokenMinter({ keyStore, issuer: ISSUER, clock, accessTokenTtl: 600, idTokenTtl: 300, refreshTokenTtl: 86_400 });
    return { clock, keyStore, minter, jwks: createLocalJWKSet(keyStore.jwks()) };
  }

  it("OIDC DCR §2: the ID token uses the client's id_token_signed_response_alg, its hashes that alg's digest; the access token keeps the default", async () => {
    const { minter, keyStore, jwks, clock } = await severalSetup();
    const tokens = await minter.mint(input({ idTokenAlg: 'RS256', includeRtHash: true }));
    const id = await jwtVerify(tokens.idToken, jwks, { audience: 'client-1', algorithms: ['RS256'], currentDate: clock.now() });
    expect(id.protectedHeader).toEqual({ alg: 'RS256', kid: keyStore.signingKey('RS256').kid, typ: 'JWT' });
    expect(id.payload.at_hash).toBe(expectedHalfHash(tokens.accessToken, 'sha256'));
    expect(id.payload[RT_HASH_CLAIM]).toBe(expectedHalfHash(tokens.refreshToken!, 'sha256'));
    expect(decodeProtectedHeader(tokens.accessToken)).toMatchObject({ alg: 'ES256', kid: keyStore.signingKey().kid });
  });

  it('without a registered alg (null) the ID token uses the default', async () => {
    const { minter } = await severalSetup();
    expect(decodeProtectedHeader((await minter.mint(input({ idTokenAlg: null }))).idToken).alg).toBe('ES256');
  });

  it('refuses an algorithm without an active key rather than sign with another', async () => {
    const { minter } = await severalSetup();
    await expect(minter.mint(input({ idTokenAlg: 'PS256' }))).rejects.toThrow(/no PS256 signing key/);
  });
});

describe('halfHash', () => {
  it('OIDC Core §3.3.2.11 uses the alg hash: SHA-256 for ES256/RS256/PS256, SHA-512 for EdDSA', () => {
    for (const alg of ['ES256', 'RS256', 'PS256']) expect(halfHash('token', alg)).toBe(expectedHalfHash('token', 'sha256'));
    expect(halfHash('token', 'EdDSA')).toBe(expectedHalfHash('token', 'sha512'));
    expect(Buffer.from(halfHash('token', 'EdDSA'), 'base64url')).toHaveLength(32);
  });

  it('matches the OIDC Core Appendix A.3 example', () => {
    // access_token and at_hash from OIDC Core Appendix A.3 (RS256).
    expect(halfHash('jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y', 'RS256')).toBe('77QmUPtjPfzWtF2AnpK9RQ');
  });

  it('refuses an alg it has no hash for', () => {
    expect(() => halfHash('token', 'HS256')).toThrow(/HS256/);
  });
});
