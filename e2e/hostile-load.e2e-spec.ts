import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { type TestDatabase, createTestDatabase, forwardedCertificateHeader, testCertificateAuthority, testClientCertificate } from '@ciba/testing';
import { type ServiceProcess, admin, bootstrapFile, deploymentEnvironment, serviceProcesses, servicePorts, startServices, tearDownDeployment } from './service-processes.js';

const TOTAL = 10_000;
const CONCURRENCY = 32;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const PKJ = 'hostile-pkj';
const CSJ = { id: 'hostile-csj', secret: randomBytes(32).toString('base64url') };
const BASIC = { id: 'hostile-basic', secret: `basic-${randomBytes(8).toString('hex')}` };
const MTLS = 'hostile-mtls';
const CERT_HEADER = 'x-ssl-client-cert';

type Attack = { readonly kind: string; readonly request: () => Promise<RequestInit> };

/**
 * 10 000 hostile bc-authorize requests against the authorize service as its own process, with the
 * client-authentication throttle off so that every one runs the whole verification (RFC 7523 §3):
 * forged signatures, a replayed jti, expired assertions, `alg: none`, an HMAC assertion keyed with
 * the client's public key, garbage where a JWT belongs, malformed JSON and form bodies, signed
 * request objects the provider does not accept, forwarded client certificates that are garbage,
 * oversized or another subject's (RFC 8705), and a forged login_hint_token. Every answer must be a 4xx in the OAuth error
 * format; none a 5xx; the process must live on and still serve a legitimate client.
 */
describe('a hostile load at bc-authorize: only 4xx answers, no 5xx, no crash', () => {
  let db: TestDatabase;
  let services: Record<'authorize', ServiceProcess>;
  let endpoint: string;
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const statuses = new Map<string, Map<number, number>>();
  const nonOAuthBodies: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const ports = await servicePorts();
    const env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      CIBA_AUTH_CHANNEL_URI: 'http://127.0.0.1:9/device',
      // Off: every request goes through the full verification instead of a cheap 429.
      CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0',
      CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '0',
      CIBA_LOG_LEVEL: 'warn',
      // RFC 8705: the load comes from 127.0.0.1, here the trusted proxy forwarding client certificates.
      CIBA_MTLS_CLIENT_CERT_HEADER: CERT_HEADER,
      CIBA_MTLS_TRUSTED_PROXIES: '127.0.0.1/32',
    };
    const key = await generateKeyPair('ES256', { extractable: true });
    const forger = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(key.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const base = { grant_types: ['urn:openid:params:grant-type:ciba'], scope: 'openid', backchannel_token_delivery_mode: 'poll' };
    await admin(
      [
        'bootstrap',
        '--file',
        await bootstrapFile({
          clients: [
            { ...base, client_id: PKJ, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [publicJwk] } },
            { ...base, client_id: CSJ.id, client_secret: CSJ.secret, token_endpoint_auth_method: 'client_secret_jwt' },
            { ...base, client_id: BASIC.id, client_secret: BASIC.secret },
            { ...base, client_id: MTLS, token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=hostile-rp.example.com,O=Example' },
          ],
          users: [{ sub: 'mallory-target' }],
        }),
      ],
      env,
    );
    services = serviceProcesses(['authorize'], ports, env);
    await startServices(services);
    endpoint = `${services.authorize.url}/bc-authorize`;

    const now = () => Math.floor(Date.now() / 1000);
    const claims = (clientId: string, overrides: Record<string, unknown> = {}) => ({ iss: clientId, sub: clientId, aud: endpoint, jti: randomUUID(), iat: now(), exp: now() + 60, ...overrides });
    const signed = (privateKey: (typeof key)['privateKey'], payload: Record<string, unknown>, kid = 'k1') => new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    const form = (fields: Record<string, string>): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'mallory-target', ...fields }).toString(),
    });
    const withAssertion = (clientId: string, assertion: string, extra: Record<string, string> = {}) =>
      form({ client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion, ...extra });
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

    // One assertion used once, legitimately, then replayed.
    const replayed = await signed(key.privateKey, claims(PKJ));
    const first = await fetch(endpoint, withAssertion(PKJ, replayed));
    expect(first.status).toBe(200);
    const authority = testCertificateAuthority();
    const intruder = forwardedCertificateHeader(testClientCertificate({ subject: '/O=Example/CN=intruder.example.com', authority }), 'url-encoded-pem');
    const withCertificate = (header: string): RequestInit => ({ ...form({ client_id: MTLS }), headers: { 'content-type': 'application/x-www-form-urlencoded', [CERT_HEADER]: header } });
    const basicAuth = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${BASIC.id}:${BASIC.secret}`).toString('base64')}` };
    // The client's public key as an HMAC secret (algorithm confusion).
    const publicKeyAsSecret = new TextEncoder().encode(JSON.stringify(publicJwk));

    const attacks: Attack[] = [
      { kind: 'forged signature', request: async () => withAssertion(PKJ, await signed(forger.privateKey, claims(PKJ))) },
      { kind: 'replayed jti', request: () => Promise.resolve(withAssertion(PKJ, replayed)) },
      { kind: 'expired assertion', request: async () => withAssertion(PKJ, await signed(key.privateKey, claims(PKJ, { iat: now() - 600, exp: now() - 300 }))) },
      { kind: 'assertion valid for a year', request: async () => withAssertion(PKJ, await signed(key.privateKey, claims(PKJ, { exp: now() + 365 * 86400 }))) },
      { kind: 'another audience', request: async () => withAssertion(PKJ, await signed(key.privateKey, claims(PKJ, { aud: 'https://other.example.com/token' }))) },
      { kind: 'unknown kid', request: async () => withAssertion(PKJ, await signed(key.privateKey, claims(PKJ), `k-${randomUUID()}`)) },
      { kind: 'alg none', request: () => Promise.resolve(withAssertion(PKJ, `${b64({ alg: 'none' })}.${b64(claims(PKJ))}.`)) },
      {
        kind: 'HS256 keyed with the public key',
        request: async () => withAssertion(PKJ, await new SignJWT(claims(PKJ)).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(publicKeyAsSecret)),
      },
      {
        kind: 'client_secret_jwt with a wrong secret',
        request: async () => withAssertion(CSJ.id, await new SignJWT(claims(CSJ.id)).setProtectedHeader({ alg: 'HS256' }).sign(randomBytes(32))),
      },
      { kind: 'garbage assertion', request: () => Promise.resolve(withAssertion(PKJ, randomBytes(64).toString('base64url'))) },
      { kind: 'malformed JSON in the JWT header', request: () => Promise.resolve(withAssertion(PKJ, `${Buffer.from('{"alg":"ES256",').toString('base64url')}.${b64(claims(PKJ))}.c2ln`)) },
      {
        kind: 'malformed JSON body',
        request: () => Promise.resolve({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id": "hostile-pkj", "scope": ' }),
      },
      {
        kind: 'form with broken percent-encoding',
        request: () => Promise.resolve({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=%E0%A4%A&scope=openid' }),
      },
      {
        kind: 'an unsigned request object',
        // From an authenticated client: the request object itself is what is refused.
        request: () =>
          Promise.resolve({
            ...form({ request: `${b64({ alg: 'none' })}.${b64({ login_hint: 'mallory-target' })}.` }),
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${BASIC.id}:${BASIC.secret}`).toString('base64')}` },
          }),
      },
      { kind: 'certificate of another subject (tls_client_auth)', request: () => Promise.resolve(withCertificate(intruder)) },
      { kind: 'garbage client certificate', request: () => Promise.resolve(withCertificate(randomBytes(96).toString('base64'))) },
      { kind: 'oversized client certificate header', request: () => Promise.resolve(withCertificate('A'.repeat(16 * 1024))) },
      {
        kind: 'forged login_hint_token',
        request: async () => {
          const token = await new SignJWT({ sub: 'mallory-target' }).setProtectedHeader({ alg: 'ES256' }).setIssuer('https://idp.example').setExpirationTime('5m').sign(forger.privateKey);
          return { method: 'POST', headers: basicAuth, body: new URLSearchParams({ scope: 'openid', login_hint_token: token }).toString() };
        },
      },
      { kind: 'wrong basic secret', request: () => Promise.resolve({ ...form({}), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${BASIC.id}:wrong`).toString('base64')}` } }) },
    ];

    let next = 0;
    const worker = async () => {
      while (next < TOTAL) {
        const attack = attacks[next++ % attacks.length];
        const res = await fetch(endpoint, await attack.request());
        const text = await res.text();
        const byStatus = statuses.get(attack.kind) ?? new Map<number, number>();
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        statuses.set(attack.kind, byStatus);
        let error: unknown;
        try {
          error = (JSON.parse(text) as { error?: unknown }).error;
        } catch {
          error = undefined;
        }
        if (typeof error !== 'string' && nonOAuthBodies.length < 5) nonOAuthBodies.push(`${attack.kind} ${res.status}: ${text.slice(0, 120)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }, 300_000);

  afterAll(async () => {
    await tearDownDeployment({ processes: Object.values(services ?? {}), db, busPrefix });
  });

  it(`RFC 7523 §3, RFC 6749 §5.2: all ${TOTAL} answers are 4xx (401 invalid_client or 400), none a 5xx`, () => {
    const summary = Object.fromEntries([...statuses].map(([kind, byStatus]) => [kind, Object.fromEntries(byStatus)]));
    const count = [...statuses.values()].flatMap((byStatus) => [...byStatus.values()]).reduce((a, b) => a + b, 0);
    expect(count).toBe(TOTAL);
    const outside4xx = [...statuses].flatMap(([kind, byStatus]) => [...byStatus.keys()].filter((status) => status < 400 || status >= 500).map((status) => `${kind}: ${status}`));
    expect([outside4xx, summary]).toEqual([[], summary]);
    process.stdout.write(`hostile load, answers by attack and status: ${JSON.stringify(summary)}\n`);
    // Every failed client authentication is 401 invalid_client, whichever check failed.
    for (const kind of [
      'forged signature',
      'replayed jti',
      'expired assertion',
      'alg none',
      'HS256 keyed with the public key',
      'client_secret_jwt with a wrong secret',
      'wrong basic secret',
      'certificate of another subject (tls_client_auth)',
      'garbage client certificate',
    ]) {
      expect([kind, [...statuses.get(kind)!.keys()]]).toEqual([kind, [401]]);
    }
  });

  it('every answer is in the OAuth error format', () => {
    expect(nonOAuthBodies).toEqual([]);
  });

  it('the service lives on: it is still ready, and a legitimate client still starts a flow', async () => {
    expect((await fetch(`${services.authorize.url}/readyz`)).status).toBe(200);
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${BASIC.id}:${BASIC.secret}`).toString('base64')}` },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'mallory-target' }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ auth_req_id: expect.any(String) });
  });
});
