import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CompactSign, type CryptoKey, type JWK, SignJWT, UnsecuredJWT, base64url, exportJWK, generateKeyPair } from 'jose';
import type { Client, ClientAssertionJtis } from '@ciba/domain';
import { OAuthError, parseFormParams } from '@ciba/protocol';
import { MemoryJtis, aClient as aBaseClient, inlineJwksCache } from '../test/client-fixtures.js';
import { RequestObjectVerifier } from './request-object-verifier.js';

const ISSUER = 'https://op.example';
const ENDPOINT = 'https://op.example/bc-authorize';
const NOW = new Date('2026-01-01T00:00:00Z');
const now = NOW.getTime() / 1000;


const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' };
const other = await generateKeyPair('ES256', { extractable: true });
const rsa = await generateKeyPair('PS256', { extractable: true });
const rsaJwk: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'r1' };

const aClient = (overrides: Partial<Client> = {}): Client => aBaseClient({ jwks: { keys: [publicJwk, rsaJwk] }, ...overrides });

function verifier(jtis: ClientAssertionJtis = new MemoryJtis()) {
  return new RequestObjectVerifier({
    jtis,
    jwksCache: inlineJwksCache(),
    clock: { now: () => NOW },
    audiences: [ISSUER, ENDPOINT],
    clockSkewMs: 30_000,
  });
}

const claims = (): Record<string, unknown> => ({
  iss: 'rp-1',
  aud: ISSUER,
  exp: now + 300,
  iat: now,
  nbf: now,
  jti: randomUUID(),
  scope: 'openid',
  login_hint: 'alice',
  binding_message: 'W4SCT',
});

function sign(payload: Record<string, unknown>, key: CryptoKey | Uint8Array = privateKey, header: Record<string, unknown> = { alg: 'ES256', kid: 'k1' }) {
  return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

const form = (body: Record<string, string>) => parseFormParams(body);

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OAuthError) {
      expect(error.error).toBe('invalid_request');
      expect(error.status).toBe(400);
      return error.description;
    }
    throw error;
  }
  throw new Error('expected an invalid_request refusal');
}

const refusedWith = async (payload: Record<string, unknown>, client = aClient()) =>
  refusal(verifier().authenticationRequestParams(client, form({ request: await sign(payload) })));

describe('RequestObjectVerifier', () => {
  it('§7.1.1 a signed request yields the object parameters', async () => {
    const params = await verifier().authenticationRequestParams(aClient(), form({ request: await sign(claims()) }));
    expect(params.names().sort()).toEqual(['binding_message', 'login_hint', 'scope']);
    expect(params.get('login_hint')).toBe('alice');
  });

  it('§7.1.1 parameters outside the request object are ignored', async () => {
    const params = await verifier().authenticationRequestParams(
      aClient(),
      form({ request: await sign(claims()), scope: 'openid email', login_hint: 'mallory', requested_expiry: '600', client_id: 'rp-1' }),
    );
    expect(params.get('login_hint')).toBe('alice');
    expect(params.get('scope')).toBe('openid');
    expect(params.has('requested_expiry')).toBe(false);
    expect(params.has('request')).toBe(false);
  });

  it('§7.1 an unsigned request is passed through untouched when the client registered no signing alg', async () => {
    const params = form({ scope: 'openid', login_hint: 'alice' });
    expect(await verifier().authenticationRequestParams(aClient(), params)).toBe(params);
  });

  it('§7.1.1 accepts PS256 and aud naming the endpoint', async () => {
    const request = await sign({ ...claims(), aud: ENDPOINT }, rsa.privateKey, { alg: 'PS256', kid: 'r1' });
    expect((await verifier().authenticationRequestParams(aClient(), form({ request }))).get('scope')).toBe('openid');
  });

  it('§7.1.1 a replayed jti is refused', async () => {
    const v = verifier();
    const request = await sign(claims());
    await v.authenticationRequestParams(aClient(), form({ request }));
    expect(await refusal(v.authenticationRequestParams(aClient(), form({ request })))).toBe("the request object's jti has already been used");
  });

  it('§7.1.1 a refused object does not use up its jti', async () => {
    const v = verifier();
    const jti = randomUUID();
    await refusal(v.authenticationRequestParams(aClient(), form({ request: await sign({ ...claims(), jti, aud: 'https://evil.example' }) })));
    await expect(v.authenticationRequestParams(aClient(), form({ request: await sign({ ...claims(), jti }) }))).resolves.toBeDefined();
  });

  it('§7.1.1 alg none is refused', async () => {
    const request = new UnsecuredJWT(claims()).encode();
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request })))).toBe('the request object must be signed: alg none is not allowed');
  });

  it('§7.1.1 an HMAC signature is refused (asymmetric algorithms only)', async () => {
    const request = await sign(claims(), new TextEncoder().encode('a-client-secret-of-at-least-32-characters'), { alg: 'HS256' });
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request })))).toBe(
      "the request object's alg must be one of ES256, RS256, PS256, EdDSA",
    );
  });

  it('§7.1.1 a signature by a key the client did not register is refused', async () => {
    const request = await sign(claims(), other.privateKey);
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request })))).toBe(
      "the request object's signature does not verify with the client's registered keys",
    );
  });

  it('§7.1.1 a tampered payload is refused', async () => {
    const [header, , signature] = (await sign(claims())).split('.');
    const forged = base64url.encode(JSON.stringify({ ...claims(), login_hint: 'mallory' }));
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request: `${header}.${forged}.${signature}` })))).toMatch(/signature does not verify/);
  });

  it('§7.1.1 a client without registered keys cannot sign requests', async () => {
    expect(await refusal(verifier().authenticationRequestParams(aClient({ jwks: null }), form({ request: await sign(claims()) })))).toMatch(
      /^the client has no registered public keys/,
    );
  });

  it.each(['iss', 'aud', 'exp', 'iat', 'nbf', 'jti'])('§7.1.1 a request object without %s is refused', async (name) => {
    const payload = claims();
    delete payload[name];
    expect(await refusedWith(payload)).toBe(`the request object's ${name} is missing`);
  });

  it('§7.1.1 a wrong iss or aud is refused', async () => {
    expect(await refusedWith({ ...claims(), iss: 'rp-2' })).toBe("the request object's iss must be the client's client_id");
    expect(await refusedWith({ ...claims(), aud: 'https://op.example/token' })).toBe(
      "the request object's aud must be the issuer or the backchannel authentication endpoint URL",
    );
  });

  it('§7.1.1 an expired object, exp too far, nbf in the future and iat too old are refused', async () => {
    expect(await refusedWith({ ...claims(), iat: now - 600, nbf: now - 600, exp: now - 60 })).toBe('the request object has expired (exp)');
    expect(await refusedWith({ ...claims(), exp: now + 3601 })).toBe("the request object's exp is more than 60 minutes after its iat");
    expect(await refusedWith({ ...claims(), nbf: now + 120 })).toBe("the request object's nbf is in the future");
    expect(await refusedWith({ ...claims(), iat: now - 3700, nbf: now - 60 })).toBe("the request object's iat is more than 60 minutes old");
  });

  it('§7.1.1 a huge request object is refused before it is parsed', async () => {
    const request = await sign({ ...claims(), filler: 'x'.repeat(9000) });
    const v = verifier();
    // The form parser bounds `request` too; this is the verifier's own bound for any other caller.
    expect(await refusal(v.authenticationRequestParams(aClient(), { get: () => request, has: () => true, names: () => ['request'] } as never))).toBe(
      'the request object must be at most 8192 characters',
    );
  });

  it.each([
    ['not a JWT', 'garbage'],
    ['an encrypted (five-part) object', 'a.b.c.d.e'],
    ['a header that is not JSON', `${base64url.encode('{nope')}.${base64url.encode('{}')}.sig`],
  ])('§7.1.1 a malformed request object is refused: %s', async (_what, request) => {
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request })))).toMatch(/^the request object/);
  });

  it('§7.1.1 a payload that is not a JSON object is refused', async () => {
    // A validly signed JWS whose payload is a JSON array.
    const arrayPayload = await new CompactSign(new TextEncoder().encode('[1,2]')).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
    expect(await refusal(verifier().authenticationRequestParams(aClient(), form({ request: arrayPayload })))).toBe(
      "the request object's payload is not a JSON object",
    );
  });

  it('§4 a client registered with backchannel_authentication_request_signing_alg must sign, with that alg', async () => {
    const client = aClient({ backchannelAuthenticationRequestSigningAlg: 'PS256' });
    expect(await refusal(verifier().authenticationRequestParams(client, form({ scope: 'openid', login_hint: 'alice' })))).toBe(
      'this client must send a signed authentication request (the request parameter, alg PS256)',
    );
    expect(await refusal(verifier().authenticationRequestParams(client, form({ request: await sign(claims()) })))).toBe(
      "the request object's alg must be PS256, as registered for this client",
    );
    const request = await sign(claims(), rsa.privateKey, { alg: 'PS256', kid: 'r1' });
    expect((await verifier().authenticationRequestParams(client, form({ request }))).get('login_hint')).toBe('alice');
  });

  it('never echoes the object or its claims in a refusal', async () => {
    const description = await refusedWith({ ...claims(), iss: 'secret-value-123' });
    expect(description).not.toContain('secret-value-123');
  });
});
