import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SignJWT, UnsecuredJWT, base64url, generateKeyPair } from 'jose';
import { CLIENTS, type TestClient, type TestProvider, startTestProvider, uniqueMessage } from './provider-harness.js';
import { type RawResponse, formBody, looseUtf8, percentEncode, rawRequest } from './raw-http.js';

/**
 * Bounded property-based fuzzing of the token lifecycle endpoints — RFC 7662 introspection, RFC 7009
 * revocation, OpenID Connect Core §5.3 UserInfo — with random and malformed bodies, headers, tokens,
 * client credentials and assertions, and content types: a few thousand requests against the
 * all-in-one provider on 127.0.0.1. Every answer is a 2xx or a 4xx, never a 5xx nor a dropped
 * connection, and every 4xx is a JSON `{error, error_description}` that is not cached. One fixed
 * seed, one random seed per run (`FUZZ_SEED=<seed>` replays it), `FUZZ_RUNS` per property.
 */
const FIXED_SEED = 20261203;
const RANDOM_SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Math.floor(Math.random() * 2 ** 31);
const RUNS = process.env['FUZZ_RUNS'] ? Number(process.env['FUZZ_RUNS']) : 300;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const ODD = ['\u0000', '\u0001', '\t', '\n', '\r', '\u007f', '\u0085', '\u00a0', '\u2028', '\u202e', '\ufeff', '\ud800', '\udc00', '%', '%00', '%FF', '%C3%28', '+', '&', '=', ';', ',', '"', '\\', '/', ' ', '.', '..', '{', '}', '😀', 'é'];
const hostileUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...ODD) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) },
);
const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 20, arbitrary: fc.string({ unit: hostileUnit, maxLength: 24 }) },
  { weight: 3, arbitrary: fc.tuple(fc.string({ unit: hostileUnit, maxLength: 4 }), fc.integer({ min: 200, max: 12_000 })).map(([head, n]) => head + 'a'.repeat(n)) },
  // Beyond the 64 KB body limit on its own.
  { weight: 1, arbitrary: fc.constant('x'.repeat(70_000)) },
);
const param = (...valid: string[]): fc.Arbitrary<string | undefined> => fc.oneof(fc.constant(undefined), ...valid.map((v) => fc.constant(v)), hostile);

/** A JWS with one character of one part changed, a part cut or doubled, or its header swapped. */
const mutatedJwt = (jwt: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.tuple(fc.nat({ max: jwt.length - 1 }), fc.constantFrom('A', '_', '-', '.', '=', '%', ' ')).map(([at, c]) => jwt.slice(0, at) + c + jwt.slice(at + 1)),
    fc.nat({ max: jwt.length }).map((n) => jwt.slice(0, n)),
    fc.constant(`${jwt}.${jwt.split('.')[2] ?? ''}`),
    fc.constantFrom({ alg: 'none' }, { alg: 'HS256' }, { alg: 'ES256', kid: '../../etc/passwd' }, { alg: 'RS256', jku: 'http://169.254.169.254/' }, { alg: 'ES256', crit: ['exp'] }).map(
      (header) => `${base64url.encode(JSON.stringify(header))}.${jwt.split('.').slice(1).join('.')}`,
    ),
    hostile.map((junk) => `${base64url.encode(junk)}.${base64url.encode(junk)}.${base64url.encode(junk)}`),
  );

type Credentials =
  | { kind: 'basic'; id: string; secret: string }
  | { kind: 'post'; id: string; secret: string }
  | { kind: 'assertion'; type: string | undefined; assertion: string; clientId: string | undefined }
  | { kind: 'header'; value: string }
  | { kind: 'none' };

function headersAndFields(creds: Credentials, contentType: string): { headers: Array<[string, string | Buffer]>; fields: Array<[string, string]> } {
  const headers: Array<[string, string | Buffer]> = [['content-type', looseUtf8(contentType)]];
  const fields: Array<[string, string]> = [];
  switch (creds.kind) {
    case 'basic':
      headers.push(['authorization', `Basic ${Buffer.from(`${percentEncode(looseUtf8(creds.id))}:${percentEncode(looseUtf8(creds.secret))}`).toString('base64')}`]);
      break;
    case 'post':
      fields.push(['client_id', creds.id], ['client_secret', creds.secret]);
      break;
    case 'assertion':
      if (creds.type !== undefined) fields.push(['client_assertion_type', creds.type]);
      fields.push(['client_assertion', creds.assertion]);
      if (creds.clientId !== undefined) fields.push(['client_id', creds.clientId]);
      break;
    case 'header':
      headers.push(['authorization', looseUtf8(creds.value)]);
      break;
    case 'none':
      break;
  }
  return { headers, fields };
}

/** Never a 5xx; a 4xx is exactly a JSON {error, error_description} (UserInfo's may say why in WWW-Authenticate too), not cached. */
const answered = new Set<number>();
function expectOAuthAnswer(res: RawResponse): void {
  answered.add(res.status);
  expect(res.status).toBeLessThan(500);
  expect(res.status).toBeGreaterThanOrEqual(200);
  expect(res.headers['cache-control']).toBe('no-store');
  if (res.status < 400) return;
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(typeof body['error']).toBe('string');
}

describe('token lifecycle fuzz: introspection, revocation and UserInfo answer 2xx or an OAuth 4xx, never a 5xx', () => {
  let op: TestProvider;
  let accessToken: string;
  let refreshToken: string;
  let otherAccessToken: string;
  /** Never drawn by the introspection and revocation fuzzers (which may revoke what they draw, RFC 7009): UserInfo's valid token. */
  let untouchedAccessToken: string;
  let forgedAccessToken: string;
  let assertions: fc.Arbitrary<string>;

  async function granted(client: TestClient = CLIENTS.basic, scope = 'openid profile email offline_access'): Promise<{ accessToken: string; refreshToken: string }> {
    const message = uniqueMessage('fuzz');
    const { authReqId } = await op.authorize({ scope, binding_message: message }, client);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    const res = await op.token(authReqId, client);
    expect(res.status).toBe(200);
    return { accessToken: String(res.body['access_token']), refreshToken: String(res.body['refresh_token']) };
  }

  beforeAll(async () => {
    // The failed-authentication lock is off, so that valid credentials keep reaching the endpoints whatever came before.
    op = await startTestProvider({ CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0', CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '0' });
    ({ accessToken, refreshToken } = await granted());
    ({ accessToken: otherAccessToken } = await granted(CLIENTS.post, 'openid'));
    ({ accessToken: untouchedAccessToken } = await granted());
    const stranger = await generateKeyPair('ES256');
    const kid = JSON.parse(Buffer.from(accessToken.split('.')[0], 'base64url').toString()) as { kid: string };
    forgedAccessToken = await new SignJWT(JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()) as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: kid.kid })
      .sign(stranger.privateKey);
    const claims = (aud: string) => ({ iss: CLIENTS.basic.id, sub: CLIENTS.basic.id, aud, jti: randomUUID(), exp: Math.floor(op.clock.now().getTime() / 1000) + 60 });
    const strangerAssertion = await new SignJWT(claims(op.url)).setProtectedHeader({ alg: 'ES256' }).sign(stranger.privateKey);
    const hmacAssertion = await new SignJWT(claims(op.url)).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(CLIENTS.basic.secret));
    assertions = fc.oneof(
      hostile,
      fc.constant(new UnsecuredJWT(claims(op.url)).encode()),
      fc.constant(strangerAssertion),
      fc.constant(hmacAssertion),
      mutatedJwt(strangerAssertion),
      fc.constant(accessToken),
    );
  }, 60_000);
  afterAll(async () => {
    await op.close();
  });

  const credentials = (): fc.Arbitrary<Credentials> =>
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('basic' as const), id: fc.oneof(fc.constant(CLIENTS.basic.id), hostile), secret: fc.oneof(fc.constant(CLIENTS.basic.secret), hostile) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('post' as const), id: fc.oneof(fc.constant(CLIENTS.post.id), hostile), secret: fc.oneof(fc.constant(CLIENTS.post.secret), hostile) }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('assertion' as const), type: param(JWT_BEARER), assertion: assertions, clientId: param(CLIENTS.basic.id, CLIENTS.ping.id) }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('header' as const), value: fc.oneof(hostile, hostile.map((v) => `Basic ${v}`), hostile.map((v) => `Bearer ${v}`)) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
    );
  const tokens = (): fc.Arbitrary<string | undefined> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(accessToken, refreshToken, otherAccessToken, forgedAccessToken) },
      { weight: 3, arbitrary: fc.constantFrom(accessToken, refreshToken).chain(mutatedJwt) },
      { weight: 3, arbitrary: param() },
    );
  const contentTypes = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') },
    { weight: 3, arbitrary: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=utf-16', '') },
    { weight: 1, arbitrary: hostile },
  );
  const extraFields = fc.array(fc.tuple(fc.constantFrom('token', 'token_type_hint', 'client_id', 'client_assertion', 'access_token', 'grant_type'), hostile), { maxLength: 2 });

  describe.each([
    ['fixed seed', FIXED_SEED],
    ['random seed', RANDOM_SEED],
  ])('%s %d', (_label, seed) => {
    /** Runs the property; the answers must include both a 2xx and a 4xx, so the inputs reach past the checks too. */
    const check = async <Ts>(property: fc.IAsyncProperty<Ts>): Promise<void> => {
      answered.clear();
      try {
        await fc.assert(property, { seed, numRuns: RUNS });
      } catch (err) {
        throw new Error(`${(err as Error).message}\nRerun these inputs with FUZZ_SEED=${seed} (the "random seed" tests take it).`, { cause: err });
      }
      const classes = new Set([...answered].map((status) => Math.floor(status / 100)));
      expect([...classes].sort()).toEqual([2, 4]);
    };

    it.each(['/token/introspect', '/token/revoke'])('RFC 7662 §2.1 / RFC 7009 §2.1 %s: token, token_type_hint, credentials, assertions, content type and repeated fields', async (path) => {
      await check(
        fc.asyncProperty(tokens(), param('access_token', 'refresh_token'), credentials(), contentTypes, extraFields, async (token, hint, creds, type, extra) => {
          const { headers, fields } = headersAndFields(creds, type);
          if (token !== undefined) fields.push(['token', token]);
          if (hint !== undefined) fields.push(['token_type_hint', hint]);
          fields.push(...extra);
          const body = type.startsWith('application/json') ? Buffer.from(JSON.stringify(Object.fromEntries(fields))) : formBody(fields);
          expectOAuthAnswer(await rawRequest(op.url, { method: 'POST', path, headers, body }));
        }),
      );
    }, 180_000);

    it('OpenID Connect Core §5.3 / RFC 6750 §2 /userinfo: Authorization schemes, query and body tokens, methods and content types', async () => {
      const authorization = fc.oneof(
        fc.constant(undefined),
        // The revocation property may have revoked every token it drew (RFC 7009): one it never sees stays valid.
        fc.oneof(tokens(), fc.constant(untouchedAccessToken)).map((token) => (token === undefined ? undefined : `Bearer ${token}`)),
        fc.tuple(fc.constantFrom('bearer', 'BEARER', 'DPoP', 'Basic', 'Bearer  ', 'Bearer\t', ''), tokens()).map(([scheme, token]) => `${scheme} ${token ?? ''}`),
        hostile,
      );
      await check(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST'),
          authorization,
          fc.option(fc.tuple(fc.constantFrom('dpop', 'access_token', 'content-length-ignored'), hostile), { nil: undefined }),
          fc.option(tokens(), { nil: undefined }),
          contentTypes,
          extraFields,
          async (method, auth, extraHeader, bodyToken, type, extra) => {
            const headers: Array<[string, string | Buffer]> = [];
            if (auth !== undefined) headers.push(['authorization', looseUtf8(auth)]);
            if (extraHeader !== undefined) headers.push([extraHeader[0], looseUtf8(extraHeader[1])]);
            let body: Buffer | undefined;
            let path: string | Buffer = '/userinfo';
            if (method === 'POST') {
              headers.push(['content-type', looseUtf8(type)]);
              const fields: Array<[string, string]> = [...extra];
              if (bodyToken !== undefined) fields.push(['access_token', bodyToken]);
              body = formBody(fields);
            } else if (bodyToken !== undefined) {
              path = Buffer.concat([Buffer.from('/userinfo?access_token='), Buffer.from(percentEncode(looseUtf8(bodyToken)))]);
            }
            expectOAuthAnswer(await rawRequest(op.url, { method, path, headers, body }));
          },
        ),
      );
    }, 180_000);

    it('raw bodies (invalid UTF-8 and all) to introspection, revocation and UserInfo', async () => {
      await check(
        fc.asyncProperty(
          fc.constantFrom('/token/introspect', '/token/revoke', '/userinfo'),
          fc.constantFrom('application/x-www-form-urlencoded', 'application/json'),
          fc.uint8Array({ maxLength: 400 }),
          async (path, type, bytes) => {
            const headers: Array<[string, string]> = [['content-type', type]];
            headers.push(['authorization', path === '/userinfo' ? `Bearer ${untouchedAccessToken}` : `Basic ${Buffer.from(`${CLIENTS.basic.id}:${CLIENTS.basic.secret}`).toString('base64')}`]);
            expectOAuthAnswer(await rawRequest(op.url, { method: 'POST', path, headers, body: Buffer.from(bytes) }));
          },
        ),
      );
    }, 180_000);
  });

  it('the provider still answers well-formed requests after the fuzzing', async () => {
    const fresh = await granted();
    const res = await op.form('/token/introspect', { token: fresh.accessToken }, CLIENTS.basic);
    expect({ status: res.status, active: res.body['active'] }).toEqual({ status: 200, active: true });
    const info = await fetch(`${op.url}/userinfo`, { headers: { authorization: `Bearer ${fresh.accessToken}` } });
    expect(info.status).toBe(200);
  });
});
