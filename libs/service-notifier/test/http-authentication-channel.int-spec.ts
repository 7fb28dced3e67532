import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '@ciba/testing';
import { type AuthenticationChannelRequest, HttpAuthenticationChannel } from '../src/channels/http-authentication.channel.js';

const request: AuthenticationChannelRequest = {
  decisionToken: 'decision-token-0123456789',
  loginHint: 'alice',
  bindingMessage: 'W4SCT',
  scope: ['openid', 'profile'],
  acrValues: [],
  clientId: 'rp-1',
  authorizationDetails: null,
};

/** The HTTP authentication channel against a real device endpoint on loopback. */
describe('HTTP authentication channel (Keycloak-compatible device endpoint)', () => {
  let server: Server;
  let base: string;
  const received: { path: string; authorization: string | undefined; body: unknown }[] = [];
  const channels: HttpAuthenticationChannel[] = [];
  const channel = (path: string, timeoutMs = 2_000) => {
    const created = new HttpAuthenticationChannel(`${base}${path}`, timeoutMs);
    channels.push(created);
    return created;
  };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (text += chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(text || 'null') as unknown });
        if (req.url === '/hang') return; // never answers
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/ok' }).end();
          return;
        }
        res.writeHead(req.url === '/broken' ? 500 : 200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(channels.map((c) => c.onApplicationShutdown()));
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('POSTs the documented body with the decision token as Bearer; a 2xx is accepted', async () => {
    await expect(channel('/ok').send(request)).resolves.toEqual({ ok: true });
    expect(received.at(-1)).toEqual({
      path: '/ok',
      authorization: 'Bearer decision-token-0123456789',
      body: { login_hint: 'alice', binding_message: 'W4SCT', is_consent_required: true, scope: 'openid profile', acr_values: null, client_id: 'rp-1', authorization_details: null },
    });
  });

  it('many sends reuse kept-alive connections and all arrive', async () => {
    const ok = channel('/ok');
    const before = received.length;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => ok.send(request)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(received.length - before).toBe(20);
  });

  it('a non-2xx answer is refused with its status; a redirect is not followed', async () => {
    await expect(channel('/broken').send(request)).resolves.toEqual({ ok: false, reason: 'channel answered HTTP 500' });
    const before = received.length;
    await expect(channel('/redirect').send(request)).resolves.toEqual({ ok: false, reason: 'channel answered HTTP 302' });
    expect(received.slice(before).map((r) => r.path)).toEqual(['/redirect']);
  });

  it('a device endpoint that never answers times out; one that is not listening is unreachable', async () => {
    await expect(channel('/hang', 300).send(request)).resolves.toEqual({ ok: false, reason: 'channel timed out' });
    const closed = new HttpAuthenticationChannel(`http://127.0.0.1:${await freePort()}/ciba`, 1_000);
    channels.push(closed);
    await expect(closed.send(request)).resolves.toEqual({ ok: false, reason: 'channel unreachable (ECONNREFUSED)' });
  });
});
