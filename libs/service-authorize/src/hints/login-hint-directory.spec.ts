import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { LoginHintDirectoryConfig } from '@ciba/config';
import { EndpointPolicy, JsonPoster } from '@ciba/outbound';
import { OAuthError } from '@ciba/protocol';
import { LoginHintDirectory } from './login-hint-directory.js';

/** A real directory on 127.0.0.1, answering as each test sets `answer`. */
let server: Server;
let base: string;
let answer: (req: IncomingMessage, body: string, res: ServerResponse) => void;
const seen: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      answer(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

const json = (status: number, body: unknown) => (_req: IncomingMessage, _body: string, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

let clock = 0;
function directory(overrides: Partial<LoginHintDirectoryConfig> = {}, allowInsecureLoopback = true) {
  const config: LoginHintDirectoryConfig = { url: `${base}/lookup`, token: 'directory-credential', timeoutMs: 300, cacheSeconds: 60, allowedCidrs: [], ...overrides };
  const poster = new JsonPoster({ policy: new EndpointPolicy({ allowInsecureLoopback, allowedCidrs: [] }), connectTimeoutMs: config.timeoutMs, responseTimeoutMs: config.timeoutMs });
  return new LoginHintDirectory({ config, post: (url, body, headers) => poster.post(url, body, headers), now: () => clock });
}

async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthError);
  return error as OAuthError;
}

describe('LoginHintDirectory (CIBA §7.1 login_hint through an enterprise directory)', () => {
  it('CIBA §7.1 POSTs {login_hint, client_id} as JSON with the bearer credential and returns the sub the directory answers', async () => {
    answer = json(200, { sub: 'alice', department: 'ignored' });
    await expect(directory().lookup('A.Lice', 'rp-1')).resolves.toBe('alice');
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0].body)).toEqual({ login_hint: 'A.Lice', client_id: 'rp-1' });
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(seen[0].headers.authorization).toBe('Bearer directory-credential');
  });

  it('sends no Authorization header without a configured credential', async () => {
    answer = json(200, { sub: 'alice' });
    await directory({ token: null }).lookup('alice', 'rp-1');
    expect(seen[0].headers.authorization).toBeUndefined();
  });

  it('CIBA §13 a definite 404 is an unknown user (null)', async () => {
    answer = json(404, { error: 'not_found' });
    await expect(directory().lookup('nobody', 'rp-1')).resolves.toBeNull();
  });

  it('a directory failing (5xx, another status, a redirect, a body that is not {"sub"}) is temporarily_unavailable (503), never unknown_user_id', async () => {
    const cases: (typeof answer)[] = [
      json(500, { error: 'boom' }),
      json(403, {}),
      json(200, { user: 'alice' }),
      json(200, { sub: '' }),
      json(200, { sub: 42 }),
      (_q, _b, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(),
      (_q, _b, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sub":'),
    ];
    for (const c of cases) {
      answer = c;
      expect(await refusal(directory({ cacheSeconds: 0 }).lookup('alice', 'rp-1'))).toMatchObject({ error: 'temporarily_unavailable', status: 503, headers: { 'Retry-After': '5' } });
    }
  });

  it('a response body over the bound is a directory failure', async () => {
    answer = (_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sub: 'alice', padding: 'x'.repeat(64 * 1024) }));
    };
    expect(await refusal(directory().lookup('alice', 'rp-1'))).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('a directory that does not answer within the timeout is a directory failure', async () => {
    answer = () => undefined; // holds the request open
    expect(await refusal(directory({ timeoutMs: 150 }).lookup('alice', 'rp-1'))).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('a directory that is down (connection refused) is a directory failure', async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    await new Promise((resolve) => down.close(resolve));
    expect(await refusal(directory({ url: `http://127.0.0.1:${port}/lookup` }).lookup('alice', 'rp-1'))).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('is refused by the outbound policy: plain http or a loopback address without the explicit allowance is never called', async () => {
    answer = json(200, { sub: 'alice' });
    expect(await refusal(directory({}, false).lookup('alice', 'rp-1'))).toMatchObject({ error: 'temporarily_unavailable' });
    expect(seen).toHaveLength(0);
  });

  it('keeps a positive answer for cacheSeconds, per client, and asks again after it', async () => {
    clock = 1_000_000;
    answer = json(200, { sub: 'alice' });
    const d = directory({ cacheSeconds: 60 });
    await d.lookup('alice', 'rp-1');
    await d.lookup('alice', 'rp-1');
    expect(seen).toHaveLength(1);
    await d.lookup('alice', 'rp-2');
    expect(seen).toHaveLength(2);
    clock += 61_000;
    await d.lookup('alice', 'rp-1');
    expect(seen).toHaveLength(3);
  });

  it('never keeps a negative answer: an unknown user is asked about again', async () => {
    answer = json(404, {});
    const d = directory();
    await d.lookup('nobody', 'rp-1');
    await d.lookup('nobody', 'rp-1');
    expect(seen).toHaveLength(2);
  });
});
