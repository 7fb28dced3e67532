import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EndpointPolicy, JWKS_RESPONSE_LIMIT_BYTES, JwksFetcher } from '../src/index.js';
import { generateCertificate, startServer } from './local-servers.js';
import type { LocalServer, Respond, TestCertificate } from './local-servers.js';

jest.setTimeout(20_000);

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] };
const reply =
  (status: number, body: string, headers: Record<string, string> = {}): Respond =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(body);
  };

let servers: LocalServer[] = [];
async function server(respond: Respond, tls?: TestCertificate): Promise<LocalServer> {
  const started = await startServer(respond, tls);
  servers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(servers.map((started) => started.close()));
  servers = [];
});

describe('JwksFetcher: a client jwks_uri (RFC 7591 §2) fetched under the outbound policy', () => {
  let tls: TestCertificate;
  const fetcher = (allowLoopback = true) =>
    new JwksFetcher({ policy: new EndpointPolicy({ allowInsecureLoopback: false, allowedCidrs: allowLoopback ? ['127.0.0.1/32'] : [] }), ca: tls.cert });

  beforeAll(() => {
    tls = generateCertificate();
  });

  it('GETs the key set over HTTPS, trusting the extra CA', async () => {
    const peer = await server(reply(200, JSON.stringify(JWKS)), tls);
    expect(await fetcher().fetch(peer.url('/jwks'))).toEqual(JWKS);
    expect(peer.requests[0]).toMatchObject({ method: 'GET', path: '/jwks' });
  });

  it('refuses a jwks_uri on a forbidden address (SSRF) without connecting', async () => {
    const peer = await server(reply(200, JSON.stringify(JWKS)), tls);
    await expect(fetcher(false).fetch(peer.url('/jwks'))).rejects.toMatchObject({ reason: 'forbidden_address' });
    expect(peer.requests).toHaveLength(0);
  });

  it('refuses plain http', async () => {
    const peer = await server(reply(200, JSON.stringify(JWKS)));
    await expect(fetcher().fetch(peer.url('/jwks'))).rejects.toMatchObject({ reason: 'not_https' });
  });

  it('does not follow a redirect', async () => {
    const peer = await server(reply(302, '', { location: '/elsewhere' }), tls);
    await expect(fetcher().fetch(peer.url('/jwks'))).rejects.toMatchObject({ reason: 'status_302' });
    expect(peer.requests).toHaveLength(1);
  });

  it('refuses an oversized document, announced or not', async () => {
    const big = JSON.stringify({ keys: [{ kty: 'EC', pad: 'A'.repeat(JWKS_RESPONSE_LIMIT_BYTES) }] });
    const announced = await server(reply(200, big), tls);
    await expect(fetcher().fetch(announced.url('/jwks'))).rejects.toMatchObject({ reason: 'too_large' });
    const chunked = await server((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(big.slice(0, 40_000));
      response.end(big.slice(40_000));
    }, tls);
    await expect(fetcher().fetch(chunked.url('/jwks'))).rejects.toMatchObject({ reason: 'too_large' });
  });

  it('refuses what is not JSON, or not a JWK Set', async () => {
    const notJson = await server(reply(200, '<html>'), tls);
    await expect(fetcher().fetch(notJson.url('/jwks'))).rejects.toMatchObject({ reason: 'not_json' });
    const notASet = await server(reply(200, JSON.stringify({ keys: 'k1' })), tls);
    await expect(fetcher().fetch(notASet.url('/jwks'))).rejects.toMatchObject({ reason: 'not_a_jwk_set' });
  });
});
