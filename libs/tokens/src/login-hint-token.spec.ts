import { describe, expect, it } from '@jest/globals';
import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { OAuthError } from '@ciba/protocol';
import { ClientJwksCache } from './client-jwks-cache.js';
import { LOGIN_HINT_TOKEN_MAX_LENGTH, LoginHintTokenVerifier, type TrustedLoginHintTokenIssuer } from './login-hint-token.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const nowSeconds = NOW.getTime() / 1000;
const OP = 'https://op.example';
const IDP = 'https://idp.example';
const HR = 'https://hr.example';

const idpKeys = await generateKeyPair('ES256', { extractable: true });
const hrKeys = await generateKeyPair('RS256', { extractable: true });
const stranger = await generateKeyPair('ES256', { extractable: true });
const idpJwk: JWK = { ...(await exportJWK(idpKeys.publicKey)), kid: 'idp-1', use: 'sig' };
const hrJwk: JWK = { ...(await exportJWK(hrKeys.publicKey)), kid: 'hr-1' };

const issuers: TrustedLoginHintTokenIssuer[] = [
  { issuer: IDP, keys: { jwks: { keys: [idpJwk] } }, subjectClaim: 'email', audience: OP, algorithms: ['ES256'] },
  { issuer: HR, keys: { jwksUri: 'https://hr.example/jwks' }, subjectClaim: 'sub', audience: null, algorithms: ['RS256', 'ES256'] },
];

function verifier(fetch: (uri: string) => Promise<unknown> = () => Promise.resolve({ keys: [hrJwk] })) {
  return new LoginHintTokenVerifier({
    issuers,
    jwksCache: new ClientJwksCache({ fetch, cacheMs: 60_000, refetchIntervalMs: 1_000, now: () => NOW.getTime() }),
    now: () => NOW,
    clockSkewMs: 30_000,
  });
}

async function token(claims: Record<string, unknown>, key: CryptoKey | Uint8Array = idpKeys.privateKey, header: Record<string, unknown> = { alg: 'ES256', kid: 'idp-1' }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}
const idpClaims = (overrides: Record<string, unknown> = {}) => ({ iss: IDP, aud: OP, exp: nowSeconds + 120, iat: nowSeconds, email: 'alice@example.com', ...overrides });

async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthError);
  return error as OAuthError;
}

describe('LoginHintTokenVerifier (CIBA §7.1 login_hint_token)', () => {
  it('CIBA §7.1 returns the subject claim its trusted issuer names users by (inline key set)', async () => {
    await expect(verifier().verify(await token(idpClaims()))).resolves.toEqual({ issuer: IDP, claim: 'email', value: 'alice@example.com' });
  });

  it('CIBA §7.1 verifies with the key set at the issuer jwks_uri, without an audience when the issuer configuration names none', async () => {
    const fetched: string[] = [];
    const v = verifier((uri) => {
      fetched.push(uri);
      return Promise.resolve({ keys: [hrJwk] });
    });
    const signed = await token({ iss: HR, sub: 'bob', exp: nowSeconds + 60 }, hrKeys.privateKey, { alg: 'RS256', kid: 'hr-1' });
    await expect(v.verify(signed)).resolves.toEqual({ issuer: HR, claim: 'sub', value: 'bob' });
    expect(fetched).toEqual(['https://hr.example/jwks']);
  });

  it('CIBA §13 answers expired_login_hint_token for an authentic token past exp (beyond the clock skew)', async () => {
    const error = await refusal(verifier().verify(await token(idpClaims({ exp: nowSeconds - 31 }))));
    expect(error.error).toBe('expired_login_hint_token');
    await expect(verifier().verify(await token(idpClaims({ exp: nowSeconds - 5 })))).resolves.toMatchObject({ value: 'alice@example.com' });
  });

  it('CIBA §13 does not call a forged expired token expired: the signature is checked first', async () => {
    const error = await refusal(verifier().verify(await token(idpClaims({ exp: nowSeconds - 3600 }), stranger.privateKey)));
    expect(error).toMatchObject({ error: 'invalid_request', description: 'login_hint_token signature does not verify with its issuer keys' });
  });

  it('CIBA §7.1 refuses a token without exp', async () => {
    const { exp: _exp, ...claims } = idpClaims();
    expect(await refusal(verifier().verify(await token(claims)))).toMatchObject({ error: 'invalid_request', description: 'login_hint_token exp claim is missing or not valid' });
  });

  it('CIBA §7.1 refuses an unsigned token (alg none)', async () => {
    const unsigned = new UnsecuredJWT(idpClaims()).encode();
    expect(await refusal(verifier().verify(unsigned))).toMatchObject({ error: 'invalid_request', description: 'login_hint_token is signed with an algorithm its issuer may not use' });
  });

  it('CIBA §7.1 refuses an HMAC token (HS256), even one keyed with the issuer public key', async () => {
    const hmacKey = new TextEncoder().encode(JSON.stringify(idpJwk));
    const signed = await token(idpClaims(), hmacKey, { alg: 'HS256', kid: 'idp-1' });
    expect(await refusal(verifier().verify(signed))).toMatchObject({ error: 'invalid_request', description: 'login_hint_token is signed with an algorithm its issuer may not use' });
  });

  it('CIBA §7.1 refuses an algorithm the issuer allows none of, even when it is asymmetric', async () => {
    const rsa = await token(idpClaims(), hrKeys.privateKey, { alg: 'RS256', kid: 'idp-1' });
    expect(await refusal(verifier().verify(rsa))).toMatchObject({ description: 'login_hint_token is signed with an algorithm its issuer may not use' });
  });

  it('CIBA §7.1 refuses a token from an issuer that is not configured, and one without iss', async () => {
    expect(await refusal(verifier().verify(await token(idpClaims({ iss: 'https://evil.example' }))))).toMatchObject({
      error: 'invalid_request',
      description: 'login_hint_token is not from a trusted issuer',
    });
    const { iss: _iss, ...claims } = idpClaims();
    expect(await refusal(verifier().verify(await token(claims)))).toMatchObject({ description: 'login_hint_token is not from a trusted issuer' });
  });

  it('CIBA §7.1 refuses a token claiming a trusted issuer but signed by another key', async () => {
    expect(await refusal(verifier().verify(await token(idpClaims(), stranger.privateKey)))).toMatchObject({ description: 'login_hint_token signature does not verify with its issuer keys' });
  });

  it('CIBA §7.1 refuses a token for another audience when the issuer configuration names this provider', async () => {
    expect(await refusal(verifier().verify(await token(idpClaims({ aud: 'https://other-op.example' }))))).toMatchObject({ description: 'login_hint_token aud claim is missing or not valid' });
    const { aud: _aud, ...claims } = idpClaims();
    expect(await refusal(verifier().verify(await token(claims)))).toMatchObject({ description: 'login_hint_token aud claim is missing or not valid' });
  });

  it('CIBA §7.1 refuses a token without the subject claim, or with an empty or non-string one', async () => {
    const { email: _email, ...claims } = idpClaims();
    expect(await refusal(verifier().verify(await token(claims)))).toMatchObject({ description: 'login_hint_token email claim is missing or not valid' });
    expect(await refusal(verifier().verify(await token(idpClaims({ email: ' ' }))))).toMatchObject({ description: 'login_hint_token email claim must be a non-empty string' });
    expect(await refusal(verifier().verify(await token(idpClaims({ email: ['a@b'] }))))).toMatchObject({ description: 'login_hint_token email claim must be a non-empty string' });
  });

  it('CIBA §7.1 refuses a token not yet valid (nbf in the future)', async () => {
    expect(await refusal(verifier().verify(await token(idpClaims({ nbf: nowSeconds + 600 }))))).toMatchObject({ description: 'login_hint_token nbf claim is missing or not valid' });
  });

  it('refuses an oversized token before parsing it, and malformed ones, without echoing the token', async () => {
    const oversized = 'e'.repeat(LOGIN_HINT_TOKEN_MAX_LENGTH + 1);
    expect(await refusal(verifier().verify(oversized))).toMatchObject({ description: `login_hint_token must be at most ${LOGIN_HINT_TOKEN_MAX_LENGTH} characters` });
    for (const malformed of ['not-a-jwt', 'a.b.c', '']) {
      const error = await refusal(verifier().verify(malformed));
      expect(error).toMatchObject({ error: 'invalid_request', description: 'login_hint_token is not a signed JWT' });
    }
  });

  it('refuses a token with a critical header it does not understand', async () => {
    const signed = await token(idpClaims(), idpKeys.privateKey, { alg: 'ES256', kid: 'idp-1', crit: ['b64'], b64: true });
    expect(await refusal(verifier().verify(signed))).toMatchObject({ description: 'login_hint_token has a critical header this provider does not understand' });
  });

  it('answers temporarily_unavailable (503) when the issuer key set cannot be fetched', async () => {
    const signed = await token({ iss: HR, sub: 'bob', exp: nowSeconds + 60 }, hrKeys.privateKey, { alg: 'RS256', kid: 'hr-1' });
    const error = await refusal(
      verifier(() => Promise.reject(Object.assign(new Error('down'), { reason: 'unreachable' }))).verify(signed),
    );
    expect(error).toMatchObject({ error: 'temporarily_unavailable', status: 503 });
  });

  it('is disabled without trusted issuers', () => {
    expect(new LoginHintTokenVerifier({ issuers: [], jwksCache: new ClientJwksCache({ fetch: () => Promise.resolve({}), cacheMs: 1, refetchIntervalMs: 1 }), now: () => NOW, clockSkewMs: 0 }).enabled).toBe(false);
    expect(verifier().enabled).toBe(true);
  });
});
