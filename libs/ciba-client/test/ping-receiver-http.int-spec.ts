import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MAX_PING_BODY_BYTES, PingReceiver } from '../src/index.js';

/** PingReceiver.nodeHandler() as a real node:http endpoint on loopback, answering hostile requests. */
describe('PingReceiver over node:http', () => {
  const receiver = new PingReceiver();
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer(receiver.nodeHandler());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (headers: Record<string, string>, body: string) => fetch(url, { method: 'POST', headers, body });

  it('an authentic ping is answered 204 with no body and wakes its request', async () => {
    const waiting = receiver.expect();
    waiting.bind('req-http');
    const res = await post({ authorization: `Bearer ${waiting.clientNotificationToken}`, 'content-type': 'application/json' }, '{"auth_req_id":"req-http"}');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    await expect(waiting.pinged).resolves.toBeUndefined();
    waiting.cancel();
  });

  it('a body over the limit is refused with 413 invalid_request, read no further', async () => {
    const waiting = receiver.expect();
    waiting.bind('req-big');
    const res = await post({ authorization: `Bearer ${waiting.clientNotificationToken}`, 'content-type': 'application/json' }, `{"auth_req_id":"${'x'.repeat(MAX_PING_BODY_BYTES * 16)}"}`);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    waiting.cancel();
  });

  it('a form body is 415 and a GET is 405, each with an OAuth-style error', async () => {
    const waiting = receiver.expect();
    waiting.bind('req-form');
    const form = await post({ authorization: `Bearer ${waiting.clientNotificationToken}`, 'content-type': 'application/x-www-form-urlencoded' }, 'auth_req_id=req-form');
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ error: 'invalid_request' });
    waiting.cancel();
  });

  it('no bearer token is 401 invalid_token with a WWW-Authenticate challenge', async () => {
    const res = await post({ 'content-type': 'application/json' }, '{"auth_req_id":"x"}');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toMatchObject({ error: 'invalid_token' });
  });
});
