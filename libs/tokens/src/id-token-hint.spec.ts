import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { OAuthError } from '@ciba/protocol';
import { InMemorySigningKeyRepository, TEST_ENCRYPTION_KEY, TestClock } from '../test/in-memory-signing-key.repository.js';
import { verifyClientIdToken, verifyIdTokenHint } from './id-token-hint.js';
import { KeyEncryptor } from './key-encryption.js';
import { KeyStore } from './key-store.js';
import { TokenMinter } from './token-minter.js';

const ISSUER = 'https://op.example.com';

async function provider(issuer = ISSUER, clock = new TestClock()) {
  const keyStore = new KeyStore({ repository: new InMemorySigningKeyRepository(), encryptor: new KeyEncryptor(TEST_ENCRYPTION_KEY), clock, algs: ['ES256'] });
  await keyStore.init();
  const minter = new TokenMinter({ keyStore, issuer, clock, accessTokenTtl: 600, idTokenTtl: 300, refreshTokenTtl: 3600 });
  const mint = (clientId = 'client-1') =>
    minter.mint({ clientId, subject: 'user-42', scope: ['openid'], authTime: clock.now(), requestId: 'r1', includeRefreshToken: false });
  return { keyStore, minter, mint, clock };
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toThrow(OAuthError);
  await expect(promise).rejects.toMatchObject({ error: 'invalid_request', description: 'id_token_hint is not valid', status: 400 });
}

describe('verifyIdTokenHint', () => {
  it('CIBA §7.1 returns the subject of an ID token we issued to this client', async () => {
    const { keyStore, mint } = await provider();
    const { idToken } = await mint();
    await expect(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' })).resolves.toEqual({ sub: 'user-42' });
  });

  it('OIDC Core §3.1.2.1 accepts an expired ID token', async () => {
    const { keyStore, mint, clock } = await provider();
    const { idToken } = await mint();
    clock.advance(30 * 24 * 3600);
    await expect(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' })).resolves.toEqual({ sub: 'user-42' });
  });

  it('accepts a token signed by a retired key that is still published', async () => {
    const { keyStore, mint } = await provider();
    const { idToken } = await mint();
    await keyStore.rotate(600);
    await expect(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' })).resolves.toEqual({ sub: 'user-42' });
  });

  it('accepts an ID token signed by any published key: an RS256 one beside the ES256 default', async () => {
    const clock = new TestClock();
    const keyStore = new KeyStore({ repository: new InMemorySigningKeyRepository(), encryptor: new KeyEncryptor(TEST_ENCRYPTION_KEY), clock, algs: ['ES256', 'RS256'] });
    await keyStore.init();
    const minter = new TokenMinter({ keyStore, issuer: ISSUER, clock, accessTokenTtl: 600, idTokenTtl: 300, refreshTokenTtl: 3600 });
    const { idToken } = await minter.mint({ clientId: 'client-1', subject: 'user-42', scope: ['openid'], authTime: clock.now(), requestId: 'r1', includeRefreshToken: false, idTokenAlg: 'RS256' });
    await expect(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' })).resolves.toEqual({ sub: 'user-42' });
    await expect(verifyClientIdToken(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1', now: clock.now(), maxAuthAgeSeconds: 600 })).resolves.toEqual({ ok: true, sub: 'user-42' });
  });

  it('rejects a token from another issuer', async () => {
    const { keyStore, clock } = await provider();
    // Same keys, different issuer: only the iss check can catch it.
    const other = new TokenMinter({ keyStore, issuer: 'https://other.example.com', clock, accessTokenTtl: 60, idTokenTtl: 60, refreshTokenTtl: 60 });
    const { idToken } = await other.mint({ clientId: 'client-1', subject: 'user-42', scope: ['openid'], authTime: clock.now(), requestId: 'r', includeRefreshToken: false });
    await expectInvalid(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' }));
  });

  it('rejects a token signed by a foreign key, even with our issuer', async () => {
    const ours = await provider();
    const foreign = await provider();
    const { idToken } = await foreign.mint();
    await expectInvalid(verifyIdTokenHint(idToken, { keyStore: ours.keyStore, issuer: ISSUER, clientId: 'client-1' }));

    // A foreign key that claims one of our kids does not verify either.
    const forged = await new SignJWT({ sub: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: ours.keyStore.signingKey().kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('client-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(foreign.keyStore.signingKey().key);
    await expectInvalid(verifyIdTokenHint(forged, { keyStore: ours.keyStore, issuer: ISSUER, clientId: 'client-1' }));
  });

  it('CIBA §7.1 rejects an ID token issued to a different client', async () => {
    const { keyStore, mint } = await provider();
    const { idToken } = await mint('client-2');
    await expectInvalid(verifyIdTokenHint(idToken, { keyStore, issuer: ISSUER, clientId: 'client-1' }));
  });

  it('RFC 9068 §4 rejects an access token (typ at+jwt) presented as a hint', async () => {
    const { keyStore, mint, clock } = await provider();
    const { accessToken } = await mint();
    // Make the access token's audience the client so only the typ check stands in the way.
    const sameAudience = await new TokenMinter({
      keyStore,
      issuer: ISSUER,
      clock,
      accessTokenTtl: 60,
      idTokenTtl: 60,
      refreshTokenTtl: 60,
      accessTokenAudience: 'client-1',
    }).mint({ clientId: 'client-1', subject: 'user-42', scope: ['openid'], authTime: clock.now(), requestId: 'r', includeRefreshToken: false });
    await expectInvalid(verifyIdTokenHint(accessToken, { keyStore, issuer: ISSUER, clientId: 'client-1' }));
    await expectInvalid(verifyIdTokenHint(sameAudience.accessToken, { keyStore, issuer: ISSUER, clientId: 'client-1' }));
  });

  it('rejects garbage', async () => {
    const { keyStore } = await provider();
    for (const token of ['', 'not-a-jwt', 'a.b.c']) {
      await expectInvalid(verifyIdTokenHint(token, { keyStore, issuer: ISSUER, clientId: 'client-1' }));
    }
  });
});

describe('verifyClientIdToken (an ID token an authenticated client presents as proof of the user)', () => {
  const checks = (clock: TestClock, clientId = 'client-1', maxAuthAgeSeconds = 600) => ({ issuer: ISSUER, clientId, now: clock.now(), maxAuthAgeSeconds });

  it('returns the subject of an unexpired ID token we issued to this client for a fresh authentication', async () => {
    const { keyStore, mint, clock } = await provider();
    const { idToken } = await mint('client-1');
    await expect(verifyClientIdToken(idToken, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: true, sub: 'user-42' });
  });

  it('device takeover: OIDC Core §3.1.3.7 refuses an ID token issued to another client (aud), or authorised for another (azp)', async () => {
    const { keyStore, mint, clock } = await provider();
    const { idToken } = await mint('client-2');
    await expect(verifyClientIdToken(idToken, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: false, refusal: 'other_client' });
    const signed = (claims: Record<string, unknown>) =>
      new SignJWT({ auth_time: Math.floor(clock.now().getTime() / 1000), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: keyStore.signingKey().kid, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject('user-42')
        .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
        .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 300)
        .sign(keyStore.signingKey().key);
    const sharedAudience = await signed({ aud: ['client-2', 'client-1'], azp: 'client-2' });
    await expect(verifyClientIdToken(sharedAudience, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: false, refusal: 'other_client' });
    const ours = await signed({ aud: ['client-2', 'client-1'], azp: 'client-1' });
    await expect(verifyClientIdToken(ours, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: true, sub: 'user-42' });
    const noAudience = await signed({});
    await expect(verifyClientIdToken(noAudience, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: false, refusal: 'invalid' });
  });

  it('device takeover: refuses a stale authentication (auth_time older than the maximum), even in an unexpired token', async () => {
    const { keyStore, minter, clock } = await provider();
    const authTime = clock.now();
    clock.advance(601);
    // What a refresh does: a new, unexpired ID token that keeps the original auth_time.
    const { idToken } = await minter.mint({ clientId: 'client-1', subject: 'user-42', scope: ['openid'], authTime, requestId: 'r1', includeRefreshToken: false });
    await expect(verifyClientIdToken(idToken, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: false, refusal: 'stale' });
    await expect(verifyClientIdToken(idToken, { keyStore, ...checks(clock, 'client-1', 900) })).resolves.toEqual({ ok: true, sub: 'user-42' });
  });

  it('RFC 7519 §4.1.4: refuses an expired ID token (unlike a hint)', async () => {
    const { keyStore, mint, clock } = await provider();
    const { idToken } = await mint();
    clock.advance(301);
    await expect(verifyClientIdToken(idToken, { keyStore, ...checks(clock, 'client-1', 3600) })).resolves.toEqual({ ok: false, refusal: 'invalid' });
  });

  it('refuses another issuer, a foreign key, an access token and garbage', async () => {
    const { keyStore, mint, clock } = await provider();
    const other = new TokenMinter({ keyStore, issuer: 'https://other.example.com', clock, accessTokenTtl: 60, idTokenTtl: 60, refreshTokenTtl: 60 });
    const otherIssuer = (await other.mint({ clientId: 'client-1', subject: 'user-42', scope: ['openid'], authTime: clock.now(), requestId: 'r', includeRefreshToken: false })).idToken;
    const foreign = (await (await provider()).mint()).idToken;
    const { accessToken } = await mint();
    for (const token of [otherIssuer, foreign, accessToken, '', 'a.b.c']) {
      await expect(verifyClientIdToken(token, { keyStore, ...checks(clock) })).resolves.toEqual({ ok: false, refusal: 'invalid' });
    }
  });
});
