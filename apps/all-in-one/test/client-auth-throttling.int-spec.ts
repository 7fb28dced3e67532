import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ClientAuthThrottle } from '@ciba/platform';
import { SecretHasher } from '@ciba/tokens';
import { CLIENTS, type HttpResult, type TestProvider, startTestProvider } from './provider-harness.js';

const THROTTLED = { status: 429, error: 'invalid_client' };
const WINDOW_SECONDS = 300;

/** One client_secret_basic attempt at bc-authorize, from whatever address the headers claim. */
async function attempt(op: TestProvider, clientId: string, secret: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await fetch(`${op.url}/bc-authorize`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      ...headers,
    },
    body: new URLSearchParams({ scope: 'openid', login_hint: 'alice' }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const outcome = (res: HttpResult) => ({ status: res.status, error: res.body['error'] });

function expectThrottled(res: HttpResult): void {
  expect(outcome(res)).toEqual(THROTTLED);
  expect(String(res.body['error_description'])).toMatch(/too many failed client authentication attempts/);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS).toBe(true);
}

describe('password guessing: failed client authentication is throttled per client id and per address, without running scrypt', () => {
  let op: TestProvider;
  let verify: jest.SpiedFunction<SecretHasher['verify']>;
  let throttleCheck: jest.SpiedFunction<ClientAuthThrottle['check']>;

  beforeAll(async () => {
    op = await startTestProvider({
      CIBA_CLIENT_AUTH_FAILURE_LIMIT: '3',
      CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '6',
      CIBA_CLIENT_AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS),
    });
    verify = jest.spyOn(op.app.get(SecretHasher), 'verify');
    throttleCheck = jest.spyOn(op.app.get(ClientAuthThrottle, { strict: false }), 'check');
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });
  // Every test starts 1 s into a fresh window. The windows are fixed and the clock runs on in real
  // time: a test started near a window's end would see its failures split over two windows.
  beforeEach(() => {
    const windowMs = WINDOW_SECONDS * 1000;
    const now = op.clock.now().getTime();
    op.clock.advance((Math.ceil(now / windowMs) * windowMs + windowMs + 1000 - now) / 1000);
  });

  it('per client id: after 3 failures the next attempt answers 429 with Retry-After and an OAuth body, and runs no scrypt; the window passing lifts it', async () => {
    for (let i = 0; i < 3; i++) expect(outcome(await attempt(op, CLIENTS.basic.id, `guess-${i}`))).toEqual({ status: 401, error: 'invalid_client' });
    const verifications = verify.mock.calls.length;

    expectThrottled(await attempt(op, CLIENTS.basic.id, 'guess-4'));
    // The right secret of a client not yet verified by this process waits out the window too.
    expectThrottled(await attempt(op, CLIENTS.basic.id, CLIENTS.basic.secret));
    expect(verify.mock.calls.length).toBe(verifications);

    op.clock.advance(WINDOW_SECONDS);
    expect((await attempt(op, CLIENTS.basic.id, CLIENTS.basic.secret)).status).toBe(200);
  }, 60_000);

  it('per address: guesses spread over many client ids (known or not) are stopped once the address used up its failures', async () => {
    for (let i = 0; i < 6; i++) expect((await attempt(op, `nobody-${i}`, 'whatever-secret')).status).toBe(401);
    const verifications = verify.mock.calls.length;
    expectThrottled(await attempt(op, 'nobody-else', 'whatever-secret'));
    expectThrottled(await attempt(op, CLIENTS.post.id, 'a-guess'));
    expect(verify.mock.calls.length).toBe(verifications);
  }, 60_000);

  it('the source address is the socket’s unless CIBA_TRUST_PROXY is on: a forged X-Forwarded-For does not escape the limit', async () => {
    for (let i = 0; i < 6; i++) expect((await attempt(op, `forger-${i}`, 'whatever-secret', { 'x-forwarded-for': `198.51.100.${i}` })).status).toBe(401);
    expectThrottled(await attempt(op, 'forger-7', 'whatever-secret', { 'x-forwarded-for': '198.51.100.77' }));
  }, 60_000);

  it('a cached legitimate client keeps working while its id is being attacked, with no throttle check (no database round trip) and no scrypt', async () => {
    expect((await attempt(op, CLIENTS.ping.id, CLIENTS.ping.secret)).status).not.toBe(401);
    for (let i = 0; i < 3; i++) expect((await attempt(op, CLIENTS.ping.id, `guess-${i}`)).status).toBe(401);
    expectThrottled(await attempt(op, CLIENTS.ping.id, 'guess-4'));

    const checks = throttleCheck.mock.calls.length;
    // The ping client's own request (it needs a client_notification_token): authenticated from the cache, answered 200.
    const res = await fetch(`${op.url}/bc-authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENTS.ping.id}:${CLIENTS.ping.secret}`).toString('base64')}` },
      body: new URLSearchParams({ scope: 'openid', login_hint: 'alice', client_notification_token: 'a-notification-token-0123456789' }),
    });
    expect(res.status).toBe(200);
    expect(throttleCheck.mock.calls.length).toBe(checks);
  }, 60_000);
});

describe('with CIBA_TRUST_PROXY on, failures are counted per forwarded client address', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_TRUST_PROXY: 'true', CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0', CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '2' });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  it('one address is throttled, another (behind the same proxy) is not; the left-most address is the one counted (so only behind a proxy that replaces the header)', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 2; i++) expect((await attempt(op, `nobody-${i}`, 'whatever-secret', from('203.0.113.1'))).status).toBe(401);
    expectThrottled(await attempt(op, 'nobody-2', 'whatever-secret', from('203.0.113.1')));
    expect((await attempt(op, 'nobody-3', 'whatever-secret', from('203.0.113.2'))).status).toBe(401);
  }, 60_000);
});

describe.each([
  ['a hop count (CIBA_TRUST_PROXY=1)', '1'],
  ['the proxy’s CIDR (CIBA_TRUST_PROXY=127.0.0.1/32)', '127.0.0.1/32'],
])('with %s, the address is the one the proxy saw, whatever the client wrote into X-Forwarded-For', (_label, trust) => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({ CIBA_TRUST_PROXY: trust, CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0', CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '2' });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  it('a client forging a new left-most X-Forwarded-For address per request (an appending proxy keeps it) is still throttled at its real one', async () => {
    // The proxy (this test, on 127.0.0.1) appends the address it saw, 203.0.113.7, as nginx's $proxy_add_x_forwarded_for does.
    const forged = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` });
    for (let i = 0; i < 2; i++) expect((await attempt(op, `appender-${i}`, 'whatever-secret', forged(i))).status).toBe(401);
    expectThrottled(await attempt(op, 'appender-2', 'whatever-secret', forged(2)));
    // Another client behind the same proxy is another address.
    expect((await attempt(op, 'appender-3', 'whatever-secret', { 'x-forwarded-for': '198.51.100.9, 203.0.113.8' })).status).toBe(401);
  }, 60_000);

  it('hostile X-Forwarded-For values (not addresses, empty entries, a zone, thousands of entries, one too large for a header) are 4xx answers, never 5xx', async () => {
    const hostile = ['not-an-address', ' , ,, ', 'fe80::1%eth0', '999.999.999.999', `${'198.51.100.1, '.repeat(1_000)}203.0.113.9`, `${'a'.repeat(20_000)}`];
    for (const value of hostile) {
      const res = await attempt(op, 'hostile-forwarder', 'whatever-secret', { 'x-forwarded-for': value });
      expect([401, 429, 431]).toContain(res.status);
    }
  }, 60_000);
});

describe('bounded hashing concurrency: guesses cannot queue scrypt without bound', () => {
  let op: TestProvider;
  beforeAll(async () => {
    op = await startTestProvider({
      CIBA_SECRET_HASH_CONCURRENCY: '1',
      CIBA_SECRET_HASH_QUEUE_LIMIT: '1',
      CIBA_CLIENT_AUTH_FAILURE_LIMIT: '0',
      CIBA_CLIENT_AUTH_ADDRESS_FAILURE_LIMIT: '0',
    });
  }, 60_000);
  afterAll(async () => {
    await op?.close();
  });

  it('a burst of guesses beyond the queue answers 503 temporarily_unavailable with Retry-After, while a cached legitimate client is still served', async () => {
    expect((await attempt(op, CLIENTS.basic.id, CLIENTS.basic.secret)).status).toBe(200);
    const [legitimate, ...guesses] = await Promise.all([
      attempt(op, CLIENTS.basic.id, CLIENTS.basic.secret),
      ...Array.from({ length: 16 }, (_, i) => attempt(op, CLIENTS.post.id, `guess-${i}`)),
    ]);
    expect(legitimate.status).toBe(200);
    const busy = guesses.filter((res) => res.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(guesses.filter((res) => res.status !== 503).map(outcome)).toEqual(
      Array.from({ length: 16 - busy.length }, () => ({ status: 401, error: 'invalid_client' })),
    );
    for (const res of busy) {
      expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/retry shortly/) });
      expect(res.headers.get('retry-after')).toBe('1');
    }
  }, 60_000);
});
