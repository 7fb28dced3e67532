import { describe, expect, it } from '@jest/globals';
import { MAX_PING_BODY_BYTES, PingReceiver } from './ping-receiver.js';

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ ...json, authorization: `Bearer ${token}` });

/** Whether `promise` has settled, checked after the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('PingReceiver (CIBA §10.2)', () => {
  it('an authentic ping for the request wakes it and is answered 204', async () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    waiting.bind('req-1');
    const answer = receiver.handle({ headers: bearer(waiting.clientNotificationToken), body: { auth_req_id: 'req-1' } });
    expect(answer.status).toBe(204);
    expect(await settled(waiting.pinged)).toBe(true);
  });

  it('takes the raw body as text or bytes, and fetch Headers', async () => {
    const receiver = new PingReceiver();
    const first = receiver.expect();
    first.bind('req-1');
    const second = receiver.expect();
    second.bind('req-2');
    expect(receiver.handle({ headers: bearer(first.clientNotificationToken), body: '{"auth_req_id":"req-1"}' }).status).toBe(204);
    const headers = new Headers(bearer(second.clientNotificationToken));
    expect(receiver.handle({ headers, body: Buffer.from('{"auth_req_id":"req-2"}') }).status).toBe(204);
    expect(await settled(first.pinged)).toBe(true);
    expect(await settled(second.pinged)).toBe(true);
  });

  it('each request gets its own unguessable token; a ping wakes only its own request', async () => {
    const receiver = new PingReceiver();
    const a = receiver.expect();
    const b = receiver.expect();
    a.bind('req-a');
    b.bind('req-b');
    expect(a.clientNotificationToken).not.toBe(b.clientNotificationToken);
    expect(a.clientNotificationToken.length).toBeGreaterThanOrEqual(43);
    receiver.handle({ headers: bearer(a.clientNotificationToken), body: { auth_req_id: 'req-a' } });
    expect(await settled(a.pinged)).toBe(true);
    expect(await settled(b.pinged)).toBe(false);
  });

  it('a missing, malformed or unknown bearer token is 401 invalid_token and wakes nothing', async () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    waiting.bind('req-1');
    for (const headers of [json, { ...json, authorization: 'Basic abc' }, bearer('not-the-token'), bearer(`${waiting.clientNotificationToken}x`), { ...json, authorization: 'Bearer' }]) {
      const answer = receiver.handle({ headers, body: { auth_req_id: 'req-1' } });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(JSON.parse(answer.body!)).toMatchObject({ error: 'invalid_token', error_description: expect.any(String) });
    }
    expect(await settled(waiting.pinged)).toBe(false);
  });

  it('the right token for another auth_req_id is 400 and wakes nothing', async () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    waiting.bind('req-1');
    const answer = receiver.handle({ headers: bearer(waiting.clientNotificationToken), body: { auth_req_id: 'req-2' } });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body!)).toMatchObject({ error: 'invalid_request' });
    expect(await settled(waiting.pinged)).toBe(false);
  });

  it('malformed, non-JSON and oversized bodies get an OAuth-style error, never an exception', () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    waiting.bind('req-1');
    const headers = bearer(waiting.clientNotificationToken);
    const cases: Array<[unknown, Record<string, string>, number]> = [
      ['{not json', headers, 400],
      ['[]', headers, 400],
      ['null', headers, 400],
      [{ auth_req_id: 42 }, headers, 400],
      [{}, headers, 400],
      [`{"auth_req_id":"${'a'.repeat(MAX_PING_BODY_BYTES)}"}`, headers, 413],
      ['auth_req_id=req-1', { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, 415],
    ];
    for (const [body, h, status] of cases) {
      const answer = receiver.handle({ headers: h, body });
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.body!)).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    }
  });

  it('a ping that arrives before the auth_req_id is known wakes the request once it is bound to that id', async () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    expect(receiver.handle({ headers: bearer(waiting.clientNotificationToken), body: { auth_req_id: 'req-early' } }).status).toBe(204);
    expect(await settled(waiting.pinged)).toBe(false);
    waiting.bind('req-early');
    expect(await settled(waiting.pinged)).toBe(true);
  });

  it('an early ping for another id does not wake the request when it is bound', async () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    receiver.handle({ headers: bearer(waiting.clientNotificationToken), body: { auth_req_id: 'someone-else' } });
    waiting.bind('req-mine');
    expect(await settled(waiting.pinged)).toBe(false);
  });

  it('after cancel the token is unknown (401) and nothing is left registered', () => {
    const receiver = new PingReceiver();
    const waiting = receiver.expect();
    waiting.bind('req-1');
    expect(receiver.pending).toBe(1);
    waiting.cancel();
    expect(receiver.pending).toBe(0);
    expect(receiver.handle({ headers: bearer(waiting.clientNotificationToken), body: { auth_req_id: 'req-1' } }).status).toBe(401);
  });
});
