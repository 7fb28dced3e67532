import { describe, expect, it } from '@jest/globals';
import { SignJWT, base64url, generateKeyPair } from 'jose';
import { InMemorySigningKeyRepository, TEST_ENCRYPTION_KEY, TestClock } from '../test/in-memory-signing-key.repository.js';
import { verifyAccessToken } from './access-token.js';
import { KeyEncryptor } from './key-encryption.js';
import { KeyStore } from './key-store.js';
import { TokenMinter, type MintInput } from './token-minter.js';

const ISSUER = 'https://op.example.com';

async function setup() {
  const clock = new TestClock();
  const keyStore = new KeyStore({ repository: new InMemorySigningKeyRepository(), encryptor: new KeyEncryptor(TEST_ENCRYPTION_KEY), clock, algs: ['ES256'] });
  await keyStore.init();
  const minter = (issuer = ISSUER) => new TokenMinter({ keyStore, issuer, clock, accessTokenTtl: 600, idTokenTtl: 300, refreshTokenTtl: 86_400 });
  const check = () => ({ keyStore, issuer: ISSUER, now: clock.now() });
  /** An access token signed with this provider's key from the claims given (client and scope), valid for 10 minutes. */
  const signed = (claims: Record<string, unknown>) => {
    const iat = Math.floor(clock.now().getTime() / 1000);
    const { kid, key } = keyStore.signingKey();
    return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).setIssuer(ISSUER).setSubject('user-42').setAudience(ISSUER).setIssuedAt(iat).setExpirationTime(iat + 600).sign(key);
  };
  return { clock, keyStore, minter, check, signed };
}

const input: MintInput = { clientId: 'client-1', subject: 'user-42', scope: ['openid', 'email'], authTime: new Date('2024-12-31T23:59:00Z'), requestId: 'request-1', includeRefreshToken: false };

describe('verifyAccessToken (RFC 9068 access tokens presented back to the provider)', () => {
  it('RFC 9068 §4 a token this provider issued verifies, with its claims', async () => {
    const { minter, check, clock } = await setup();
    const { accessToken } = await minter().mint(input);
    const iat = Math.floor(clock.now().getTime() / 1000);
    expect(await verifyAccessToken(accessToken, check())).toEqual({
      sub: 'user-42',
      clientId: 'client-1',
      scope: ['openid', 'email'],
      exp: iat + 600,
      iat,
      iss: ISSUER,
      aud: ISSUER,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
  });

  it('RFC 9068 §2.2 the jti a revocation names comes back; a token without one (issued before tokens carried it) verifies without it', async () => {
    const { minter, check, signed } = await setup();
    const { accessToken } = await minter().mint({ ...input, accessTokenJti: 'jti-of-this-token' });
    expect(await verifyAccessToken(accessToken, check())).toMatchObject({ jti: 'jti-of-this-token' });
    for (const jti of [undefined, '', 42]) {
      const token = await signed({ client_id: 'client-1', scope: 'openid', ...(jti === undefined ? {} : { jti }) });
      const claims = await verifyAccessToken(token, check());
      expect(claims).toMatchObject({ sub: 'user-42', clientId: 'client-1' });
      expect(claims).not.toHaveProperty('jti');
    }
  });

  it('RFC 9068 §4 an expired token is refused', async () => {
    const { minter, check, clock } = await setup();
    const { accessToken } = await minter().mint(input);
    clock.advance(601);
    expect(await verifyAccessToken(accessToken, check())).toBeNull();
  });

  it('RFC 9068 §4 a token of another issuer is refused, even signed with this provider’s key', async () => {
    const { minter, check } = await setup();
    const { accessToken } = await minter('https://other.example.com').mint(input);
    expect(await verifyAccessToken(accessToken, check())).toBeNull();
  });

  it('RFC 9068 §4 an ID token is not an access token', async () => {
    const { minter, check } = await setup();
    const { idToken } = await minter().mint(input);
    expect(await verifyAccessToken(idToken, check())).toBeNull();
  });

  it('RFC 7519 §6 an unsecured (alg none) token is refused', async () => {
    const { minter, check } = await setup();
    const { accessToken } = await minter().mint(input);
    const [, payload] = accessToken.split('.');
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    expect(await verifyAccessToken(`${header}.${payload}.`, check())).toBeNull();
  });

  it('RFC 7515 a forged token (our kid, another key; or an altered payload) is refused', async () => {
    const { minter, check, keyStore, clock } = await setup();
    const { privateKey } = await generateKeyPair('ES256');
    const iat = Math.floor(clock.now().getTime() / 1000);
    const forged = await new SignJWT({ client_id: 'client-1', scope: 'openid' })
      .setProtectedHeader({ alg: 'ES256', kid: keyStore.signingKey().kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setSubject('user-42')
      .setAudience(ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(privateKey);
    expect(await verifyAccessToken(forged, check())).toBeNull();
    const { accessToken } = await minter().mint(input);
    const [header, , signature] = accessToken.split('.');
    const altered = base64url.encode(JSON.stringify({ iss: ISSUER, sub: 'someone-else', aud: ISSUER, client_id: 'client-1', scope: 'openid', iat, exp: iat + 600 }));
    expect(await verifyAccessToken(`${header}.${altered}.${signature}`, check())).toBeNull();
  });

  it('RFC 7800 §3.1 a bound token verifies with its cnf (jkt or x5t#S256)', async () => {
    const { minter, check } = await setup();
    const dpop = await minter().mint({ ...input, confirmation: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } });
    expect((await verifyAccessToken(dpop.accessToken, check()))?.cnf).toEqual({ jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' });
    const mtls = await minter().mint({ ...input, confirmation: { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' } });
    expect((await verifyAccessToken(mtls.accessToken, check()))?.cnf).toEqual({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' });
  });

  it('RFC 7800 §3.1 a token whose cnf the provider cannot read is refused rather than treated as a bearer token', async () => {
    const { check, signed } = await setup();
    for (const cnf of [{}, { jwk: { kty: 'EC' } }, { jkt: 42 }, { jkt: '' }, 'jkt', [{ jkt: 'x' }], { jkt: 'x', kid: 'y' }]) {
      const token = await signed({ client_id: 'client-1', scope: 'openid', cnf });
      expect(await verifyAccessToken(token, check())).toBeNull();
    }
  });

  it('garbage is refused without an exception', async () => {
    const { check } = await setup();
    for (const token of ['', 'x', 'a.b.c', 'not-a-jwt-0123456789abcdefghijklmnopqrstuvwxyz']) expect(await verifyAccessToken(token, check())).toBeNull();
  });
});
