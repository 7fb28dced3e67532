import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CallbackSender, EndpointPolicy, nextDeliveryStep } from '../src/index.js';
import type { EndpointPolicyOptions } from '../src/index.js';
import { generateCertificate, startServer, unusedPort, waitFor } from './local-servers.js';
import type { LocalServer, Respond, TestCertificate } from './local-servers.js';

jest.setTimeout(20_000);

const TOKEN = 'cnt-8d2f1c.Xy_z~+/=';
const PING = { auth_req_id: '1c266114-a1be-4252-8ad1-04986c5b9ac1' };

const json =
  (status: number, headers: Record<string, string> = {}): Respond =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end('{}');
  };

let servers: LocalServer[] = [];
let senders: CallbackSender[] = [];

async function server(respond: Respond, tls?: TestCertificate): Promise<LocalServer> {
  const started = await startServer(respond, tls);
  servers.push(started);
  return started;
}

function sender(policy: Partial<EndpointPolicyOptions> = {}, options: Omit<ConstructorParameters<typeof CallbackSender>[0], 'policy'> = {}): CallbackSender {
  const created = new CallbackSender({
    policy: new EndpointPolicy({ allowInsecureLoopback: true, allowedCidrs: [], ...policy }),
    ...options,
  });
  senders.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(senders.map((created) => created.close()));
  await Promise.all(servers.map((started) => started.close()));
  senders = [];
  servers = [];
});

describe('CallbackSender over plain HTTP to loopback (development setting)', () => {
  it('delivers a CIBA §10.2 ping: JSON body, RFC 6750 bearer token, exact headers', async () => {
    const endpoint = await server(json(204));
    const outcome = await sender({}, { userAgent: 'ciba-op-test/1' }).post(endpoint.url('/cb?tenant=a'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'delivered', status: 204 });
    expect(outcome.latencyMs).toBeGreaterThan(0);
    expect(endpoint.requests).toHaveLength(1);
    const [request] = endpoint.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/cb?tenant=a');
    expect(request.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['accept']).toBe('application/json');
    expect(request.headers['user-agent']).toBe('ciba-op-test/1');
    expect(request.headers['host']).toBe(`127.0.0.1:${endpoint.port}`);
    expect(JSON.parse(request.body)).toEqual(PING);
    expect(request.body).toBe(JSON.stringify(PING));
  });

  it('503 then 200: retryable with Retry-After honoured (RFC 9110 §10.2.3), then exactly one successful delivery', async () => {
    const endpoint = await server((request, response, index) => (index === 0 ? json(503, { 'retry-after': '2' }) : json(200))(request, response, index));
    const callbacks = sender();

    const first = await callbacks.post(endpoint.url('/cb'), PING, TOKEN);
    expect(first).toMatchObject({ kind: 'retryable', reason: 'server_error', status: 503, retryAfterMs: 2_000 });
    const step = nextDeliveryStep(first, 1, 8, { random: () => 0 });
    expect(step).toEqual({ action: 'retry', delayMs: 2_000 });

    const second = await callbacks.post(endpoint.url('/cb'), PING, TOKEN);
    expect(second).toMatchObject({ kind: 'delivered', status: 200 });
    expect(nextDeliveryStep(second, 2, 8)).toEqual({ action: 'done' });
    expect(endpoint.requests.map((request) => request.body)).toEqual([JSON.stringify(PING), JSON.stringify(PING)]);
  });

  it('401 (RFC 6750 §3.1 invalid_token) is permanent: the endpoint is called exactly once', async () => {
    const endpoint = await server(json(401, { 'www-authenticate': 'Bearer error="invalid_token"' }));
    const outcome = await sender().post(endpoint.url('/cb'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'unauthorized', status: 401 });
    expect(nextDeliveryStep(outcome, 1, 8)).toMatchObject({ action: 'give_up', attemptsExhausted: false });
    expect(endpoint.requests).toHaveLength(1);
  });

  it.each([400, 403, 404])('%i is permanent after a single request', async (status) => {
    const endpoint = await server(json(status));
    expect(await sender().post(endpoint.url('/cb'), PING, TOKEN)).toMatchObject({ kind: 'permanent', status });
    expect(endpoint.requests).toHaveLength(1);
  });

  it('301 is a permanent failure and the Location target is never requested', async () => {
    const endpoint = await server((request, response, index) => {
      if (request.path === '/cb') {
        response.writeHead(301, { location: `http://127.0.0.1:${endpoint.port}/moved` });
        response.end();
      } else {
        json(200)(request, response, index);
      }
    });
    const outcome = await sender().post(endpoint.url('/cb'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'redirect_not_followed', status: 301 });
    expect(endpoint.requests.map((request) => request.path)).toEqual(['/cb']);
  });

  it('429 with Retry-After: 7 is retryable with retryAfterMs 7000', async () => {
    const endpoint = await server(json(429, { 'retry-after': '7' }));
    expect(await sender().post(endpoint.url('/cb'), PING, TOKEN)).toMatchObject({ kind: 'retryable', reason: 'rate_limited', status: 429, retryAfterMs: 7_000 });
  });

  it('a response timeout is retryable, and the request was sent once', async () => {
    const endpoint = await server(() => undefined); // accepts the request, never answers
    const outcome = await sender({}, { responseTimeoutMs: 300 }).post(endpoint.url('/cb'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'response_timeout', status: null, retryAfterMs: null });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(250);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('a refused connection is retryable', async () => {
    const port = await unusedPort();
    expect(await sender().post(`http://127.0.0.1:${port}/cb`, PING, TOKEN)).toMatchObject({ kind: 'retryable', reason: 'connection_refused', status: null });
  });

  it('a 2xx with an oversized body is delivered without reading it all', async () => {
    const endpoint = await server((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(Buffer.alloc(4 * 1024 * 1024));
    });
    expect(await sender().post(endpoint.url('/cb'), PING, TOKEN)).toMatchObject({ kind: 'delivered', status: 200 });
  });

  it('reuses kept-alive connections to an endpoint, and close() releases them', async () => {
    const endpoint = await server(json(200));
    const callbacks = sender();
    for (let i = 0; i < 6; i++) expect(await callbacks.post(endpoint.url('/cb'), PING, TOKEN)).toMatchObject({ kind: 'delivered' });

    expect(endpoint.requests).toHaveLength(6);
    // undici frees a connection a tick after the response ends, so back-to-back posts may open a second one.
    expect(endpoint.connections).toBeLessThanOrEqual(2);
    await callbacks.close();
    await waitFor(async () => (await endpoint.openConnections()) === 0);
  });
});

describe('CallbackSender over HTTPS (CIBA §10.2/§10.3 endpoints are https)', () => {
  let certificate: TestCertificate;
  let otherCertificate: TestCertificate;

  beforeAll(() => {
    certificate = generateCertificate();
    otherCertificate = generateCertificate();
  });

  const allowLoopbackAddress = { allowInsecureLoopback: false, allowedCidrs: ['127.0.0.1/32'] };

  it('delivers when the endpoint certificate chains to the configured CA', async () => {
    const endpoint = await server(json(200), certificate);
    const outcome = await sender(allowLoopbackAddress, { ca: certificate.cert }).post(endpoint.url('/cb'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'delivered', status: 200 });
    expect(endpoint.requests[0].headers['authorization']).toBe(`Bearer ${TOKEN}`);
  });

  it('sends the host name as TLS SNI and validates the certificate against it', async () => {
    const endpoint = await server(json(200), certificate);
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['127.0.0.1']);
    const outcome = await sender({ ...allowLoopbackAddress, resolve }, { ca: certificate.cert }).post(endpoint.url('/cb', 'localhost'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'delivered' });
    expect(endpoint.requests[0].servername).toBe('localhost');
    expect(endpoint.requests[0].headers['host']).toBe(`localhost:${endpoint.port}`);
  });

  it('an untrusted certificate is a permanent TLS failure, and no request is sent', async () => {
    const endpoint = await server(json(200), certificate);
    const wrongCa = await sender(allowLoopbackAddress, { ca: otherCertificate.cert }).post(endpoint.url('/cb'), PING, TOKEN);
    const noCa = await sender(allowLoopbackAddress).post(endpoint.url('/cb'), PING, TOKEN);

    expect(wrongCa).toMatchObject({ kind: 'permanent', reason: 'tls_certificate_invalid', status: null });
    expect(noCa).toMatchObject({ kind: 'permanent', reason: 'tls_certificate_invalid', status: null });
    expect(endpoint.requests).toHaveLength(0);
  });
});

describe('CallbackSender SSRF protection', () => {
  let certificate: TestCertificate;

  beforeAll(() => {
    certificate = generateCertificate();
  });

  const production = { allowInsecureLoopback: false, allowedCidrs: [] };

  it('refuses 127.0.0.1 as forbidden_address without connecting', async () => {
    const endpoint = await server(json(200), certificate);
    const outcome = await sender(production, { ca: certificate.cert }).post(endpoint.url('/cb'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'forbidden_address', status: null });
    expect(endpoint.connections).toBe(0);
  });

  it('refuses a host name (localhost, system resolver) resolving to loopback the same way', async () => {
    const endpoint = await server(json(200), certificate);
    const outcome = await sender(production, { ca: certificate.cert }).post(endpoint.url('/cb', 'localhost'), PING, TOKEN);

    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'forbidden_address' });
    expect(endpoint.connections).toBe(0);
  });

  it('refuses plain http to loopback without the development setting, without connecting', async () => {
    const endpoint = await server(json(200));
    expect(await sender({ allowInsecureLoopback: false, allowedCidrs: ['127.0.0.1/32'] }).post(endpoint.url('/cb'), PING, TOKEN)).toMatchObject({
      kind: 'permanent',
      reason: 'not_https',
    });
    expect(endpoint.connections).toBe(0);
  });

  it('connects only to the checked address: DNS is consulted once per post, and a rebinding is refused', async () => {
    const endpoint = await server(json(200), certificate);
    // callback.invalid never resolves (RFC 6761): reaching the server proves the pinned address was used.
    const answers = [['127.0.0.1'], ['10.0.0.1'], ['127.0.0.1', '169.254.169.254']];
    const resolve = jest.fn((_host: string) => Promise.resolve(answers.shift() ?? []));
    const callbacks = sender({ allowInsecureLoopback: false, allowedCidrs: ['127.0.0.1/32'], resolve }, { ca: certificate.cert });
    const url = endpoint.url('/cb', 'callback.invalid');

    expect(await callbacks.post(url, PING, TOKEN)).toMatchObject({ kind: 'delivered', status: 200 });
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(resolve).toHaveBeenCalledWith('callback.invalid');
    expect(endpoint.requests[0].servername).toBe('callback.invalid');
    expect(endpoint.requests[0].headers['host']).toBe(`callback.invalid:${endpoint.port}`);

    // The name now points at a private address, then at a set including the metadata service.
    expect(await callbacks.post(url, PING, TOKEN)).toMatchObject({ kind: 'permanent', reason: 'forbidden_address' });
    expect(await callbacks.post(url, PING, TOKEN)).toMatchObject({ kind: 'permanent', reason: 'forbidden_address' });
    expect(resolve).toHaveBeenCalledTimes(3);
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.connections).toBe(1);
  });

  it('a host name that does not resolve is a retryable dns_failure', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    expect(await sender({ ...production, resolve }).post('https://callback.invalid/cb', PING, TOKEN)).toMatchObject({ kind: 'retryable', reason: 'dns_failure' });
  });
});
