import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import {
  ApprovalNotGrantedError,
  type CibaClient,
  CibaProtocolError,
  CibaProviderError,
  PingReceiver,
  type PollResult,
  currentApproval,
  discover,
  pollOnce,
  requestApproval,
  startApproval,
  withApproval,
} from '@ciba/client';
import { parseBootstrap } from '@ciba/config';
import { loadBootstrap } from '@ciba/platform';
import { CIBA, CLIENTS, type TestProvider, bootstrapDeps, startTestProvider, uniqueMessage } from './provider-harness.js';

const PING_KIT = { id: 'kit-ping', secret: `kit-ping-${randomBytes(6).toString('hex')}` };
const JWT_KIT = { id: 'kit-jwt', kid: 'kit-jwt-key' };
const INSECURE = { allowInsecureRequests: true } as const;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A bound on flows that wait for a decision on the device: a decision that never comes fails the test, not hangs it. */
const DECIDED_WITHIN = 20_000;

/**
 * The client kit (@ciba/client) against this provider, as any relying party would use it: through
 * discovery, over HTTP. Each outcome of requestApproval is produced by the provider itself (a
 * decision on the device, an expiry, a slow_down), never simulated.
 */
describe('CIBA client kit against this provider', () => {
  let op: TestProvider;
  let basic: CibaClient;
  let pingServer: Server;
  const ping = new PingReceiver();

  beforeAll(async () => {
    op = await startTestProvider();
    pingServer = createServer(ping.nodeHandler());
    await new Promise<void>((resolve) => pingServer.listen(0, '127.0.0.1', resolve));
    const pingUrl = `http://127.0.0.1:${(pingServer.address() as AddressInfo).port}/ciba/ping`;
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    jwtKey = privateKey;
    await loadBootstrap(
      parseBootstrap({
        clients: [
          {
            client_id: PING_KIT.id,
            client_secret: PING_KIT.secret,
            grant_types: [CIBA],
            scope: 'openid profile',
            backchannel_token_delivery_mode: 'ping',
            backchannel_client_notification_endpoint: pingUrl,
          },
          {
            client_id: JWT_KIT.id,
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: JWT_KIT.kid, use: 'sig', alg: 'ES256' }] },
            grant_types: [CIBA],
            scope: 'openid',
          },
        ],
      }),
      bootstrapDeps(op),
    );
    basic = await discover(op.url, CLIENTS.basic.id, { method: 'client_secret_basic', clientSecret: CLIENTS.basic.secret }, INSECURE);
  });
  let jwtKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  afterAll(async () => {
    await new Promise((resolve) => pingServer?.close(resolve));
    await op?.close();
  });

  /** Answers the device notification carrying `message` with `status` (as the user would). */
  async function decideOnDevice(message: string, status: 'SUCCEED' | 'UNAUTHORIZED') {
    const { decisionToken } = await op.notification((b) => b['binding_message'] === message);
    expect((await op.decide(decisionToken, status)).status).toBe(200);
  }

  describe('discovery', () => {
    it('finds the backchannel endpoint and delivery modes through discovery alone', () => {
      expect(basic.server).toMatchObject({
        issuer: op.url,
        backchannelAuthenticationEndpoint: `${op.url}/bc-authorize`,
        deliveryModes: expect.arrayContaining(['poll', 'ping']),
      });
    });

    it('refuses a plain-http issuer unless insecure requests are allowed', async () => {
      await expect(discover(op.url, CLIENTS.basic.id, { method: 'client_secret_basic', clientSecret: CLIENTS.basic.secret })).rejects.toBeInstanceOf(CibaProviderError);
    });

    it('a URL that serves no discovery document is a provider error, not a crash', async () => {
      await expect(discover(`${op.url}/no-such-issuer`, 'x', { method: 'client_secret_basic', clientSecret: 'y' }, INSECURE)).rejects.toBeInstanceOf(CibaProviderError);
    });
  });

  describe('requestApproval outcomes (poll mode)', () => {
    it('approved: the user approves on the device and the tokens come back', async () => {
      const message = uniqueMessage('kit approve');
      const polls: PollResult['status'][] = [];
      const outcome = await requestApproval({
        client: basic,
        user: 'alice',
        bindingMessage: message,
        scope: 'openid profile',
        timeoutMs: DECIDED_WITHIN,
        onStarted: () => void decideOnDevice(message, 'SUCCEED'),
        onPoll: (r) => polls.push(r.status),
      });
      expect(outcome.status).toBe('approved');
      if (outcome.status !== 'approved') return;
      expect(typeof outcome.tokens.access_token).toBe('string');
      expect(outcome.tokens.claims()?.sub).toBeTruthy();
      expect(polls.at(-1)).toBe('approved');
    });

    it('denied: the user refuses on the device', async () => {
      const message = uniqueMessage('kit deny');
      const outcome = await requestApproval({ client: basic, user: 'alice', bindingMessage: message, timeoutMs: DECIDED_WITHIN, onStarted: () => void decideOnDevice(message, 'UNAUTHORIZED') });
      expect(outcome).toMatchObject({ status: 'denied', error: 'access_denied' });
    });

    it('expired: nobody decides before the requested expiry, and the provider says expired_token', async () => {
      const polls: PollResult['status'][] = [];
      const outcome = await requestApproval({ client: basic, user: 'alice', bindingMessage: uniqueMessage('kit expire'), requestedExpiry: 3, onPoll: (r) => polls.push(r.status) });
      // The description is the provider's: the outcome came from its expired_token, not from a local timer.
      expect(outcome).toMatchObject({ status: 'expired', description: expect.stringMatching(/expired/) });
      expect(polls.at(-1)).toBe('expired');
    });

    it('timed_out: the caller stops waiting before the provider does', async () => {
      const polls: PollResult['status'][] = [];
      const outcome = await requestApproval({ client: basic, user: 'alice', bindingMessage: uniqueMessage('kit timeout'), timeoutMs: 2500, onPoll: (r) => polls.push(r.status) });
      expect(outcome.status).toBe('timed_out');
      expect(polls.every((s) => s === 'pending')).toBe(true);
    });

    it('cancelled: aborting rejects with the signal reason and no poll follows', async () => {
      const controller = new AbortController();
      const reason = new Error('user pressed stop');
      const polls: PollResult['status'][] = [];
      let interval = 0;
      const pending = requestApproval({
        client: basic,
        user: 'alice',
        bindingMessage: uniqueMessage('kit cancel'),
        signal: controller.signal,
        onStarted: (started) => {
          interval = started.interval;
          controller.abort(reason);
        },
        onPoll: (r) => polls.push(r.status),
      });
      await expect(pending).rejects.toBe(reason);
      // Past the time the first poll was due: none was sent.
      await sleep((interval + 1) * 1000);
      expect(polls).toEqual([]);
    });

    it('cancelled before it starts: an aborted signal sends no request at all', async () => {
      const reason = new Error('already cancelled');
      let started = false;
      await expect(
        requestApproval({ client: basic, user: 'alice', bindingMessage: 'never sent', signal: AbortSignal.abort(reason), onStarted: () => (started = true) }),
      ).rejects.toBe(reason);
      expect(started).toBe(false);
    });

    it('slow_down: after the provider says slow_down the kit waits 5 s more, so it is never told twice', async () => {
      // A second poller of the same auth_req_id (a copy of the kit's first poll, sent just before it)
      // makes the provider see the kit's poll as too soon: a real slow_down, not a simulated one.
      let duplicated = false;
      const racing = await discover(op.url, CLIENTS.basic.id, { method: 'client_secret_basic', clientSecret: CLIENTS.basic.secret }, {
        ...INSECURE,
        fetch: async (input, init) => {
          const url = input instanceof Request ? input.url : String(input);
          if (url === `${op.url}/token` && !duplicated) {
            duplicated = true;
            await (await fetch(input, init)).arrayBuffer();
          }
          return fetch(input, init);
        },
      });
      const message = uniqueMessage('kit slow');
      const polls: PollResult['status'][] = [];
      const outcome = await requestApproval({
        client: racing,
        user: 'alice',
        bindingMessage: message,
        timeoutMs: 2 * DECIDED_WITHIN,
        onPoll: (r) => {
          polls.push(r.status);
          if (r.status === 'slow_down') void decideOnDevice(message, 'SUCCEED');
        },
      });
      expect(outcome.status).toBe('approved');
      expect(polls[0]).toBe('slow_down');
      expect(polls.at(-1)).toBe('approved');
      // Had the kit come back after the old interval, the provider (whose interval grew by 5 s) would have said slow_down again.
      expect(polls.slice(1)).not.toContain('slow_down');
    }, 60_000);
  });

  describe('low-level primitives', () => {
    it('pollOnce maps §11 errors: authorization_pending, slow_down, expired_token', async () => {
      const started = await startApproval(basic, { loginHint: 'alice', bindingMessage: uniqueMessage('kit primitives'), requestedExpiry: 60 });
      expect(started).toMatchObject({ authReqId: expect.any(String), expiresIn: 60, interval: 2 });
      expect(await pollOnce(basic, started.authReqId, { interval: started.interval })).toEqual({ status: 'pending' });
      expect(await pollOnce(basic, started.authReqId, { interval: started.interval })).toEqual({ status: 'slow_down', interval: 7 });
      op.clock.advance(120);
      try {
        expect(await pollOnce(basic, started.authReqId)).toMatchObject({ status: 'expired' });
      } finally {
        // Back to real time: later tests sign client assertions with the real clock.
        op.clock.advance(-120);
      }
    });

    it('an auth_req_id the provider never issued is a protocol error (invalid_grant), not an outcome', async () => {
      await expect(pollOnce(basic, 'not-an-auth-req-id')).rejects.toMatchObject({ name: 'CibaProtocolError', error: 'invalid_grant', status: 400 });
    });

    it('bad client credentials are a protocol error (invalid_client)', async () => {
      const wrong = await discover(op.url, CLIENTS.basic.id, { method: 'client_secret_basic', clientSecret: 'not-the-secret' }, INSECURE);
      await expect(startApproval(wrong, { loginHint: 'alice' })).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
    });

    it('a client not registered for CIBA, and an unknown user, are refused by the provider', async () => {
      const noCiba = await discover(op.url, CLIENTS.noCiba.id, { method: 'client_secret_basic', clientSecret: CLIENTS.noCiba.secret }, INSECURE);
      await expect(startApproval(noCiba, { loginHint: 'alice' })).rejects.toMatchObject({ error: 'unauthorized_client' });
      await expect(startApproval(basic, { loginHint: `nobody-${randomBytes(4).toString('hex')}` })).rejects.toMatchObject({ error: 'unknown_user_id' });
    });

    it('malformed requests are refused before anything is sent', async () => {
      await expect(startApproval(basic, {} as never)).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(startApproval(basic, { loginHint: 'alice', requestedExpiry: -1 })).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(pollOnce(basic, '')).rejects.toMatchObject({ code: 'invalid_argument' });
    });

    it('a client_secret_post client authenticates through the same calls', async () => {
      const post = await discover(op.url, CLIENTS.post.id, { method: 'client_secret_post', clientSecret: CLIENTS.post.secret }, INSECURE);
      const message = uniqueMessage('kit post');
      const outcome = await requestApproval({ client: post, user: 'alice', bindingMessage: message, timeoutMs: DECIDED_WITHIN, onStarted: () => void decideOnDevice(message, 'SUCCEED') });
      expect(outcome.status).toBe('approved');
    });

    it('a private_key_jwt client authenticates through the same calls', async () => {
      const jwt = await discover(op.url, JWT_KIT.id, { method: 'private_key_jwt', privateKey: jwtKey, kid: JWT_KIT.kid }, INSECURE);
      const message = uniqueMessage('kit jwt');
      const outcome = await requestApproval({ client: jwt, user: 'alice', bindingMessage: message, timeoutMs: DECIDED_WITHIN, onStarted: () => void decideOnDevice(message, 'SUCCEED') });
      expect(outcome.status).toBe('approved');
    });
  });

  describe('ping mode (CIBA §10.2)', () => {
    let pingClient: CibaClient;
    beforeAll(async () => {
      pingClient = await discover(op.url, PING_KIT.id, { method: 'client_secret_basic', clientSecret: PING_KIT.secret }, INSECURE);
    });

    it('approved: the provider pings the receiver and the kit polls once, after the decision', async () => {
      const message = uniqueMessage('kit ping');
      const polls: PollResult['status'][] = [];
      const outcome = await requestApproval({
        client: pingClient,
        user: 'alice',
        bindingMessage: message,
        mode: 'ping',
        ping,
        timeoutMs: DECIDED_WITHIN,
        // Decided after the first poll would have been due in poll mode: a pending poll would show.
        onStarted: (started) => void sleep((started.interval + 1) * 1000).then(() => decideOnDevice(message, 'SUCCEED')),
        onPoll: (r) => polls.push(r.status),
      });
      expect(outcome.status).toBe('approved');
      expect(polls).toEqual(['approved']);
      expect(ping.pending).toBe(0);
    });

    it('a forged ping (wrong bearer token) is refused with 401 and wakes nothing', async () => {
      const message = uniqueMessage('kit ping forged');
      const polls: PollResult['status'][] = [];
      let authReqId = '';
      const outcome = requestApproval({
        client: pingClient,
        user: 'alice',
        bindingMessage: message,
        mode: 'ping',
        ping,
        timeoutMs: 4000,
        onStarted: (started) => (authReqId = started.authReqId),
        onPoll: (r) => polls.push(r.status),
      });
      while (!authReqId) await sleep(50);
      const url = `http://127.0.0.1:${(pingServer.address() as AddressInfo).port}/ciba/ping`;
      const forged = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${randomBytes(32).toString('base64url')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ auth_req_id: authReqId }),
      });
      expect(forged.status).toBe(401);
      expect(await forged.json()).toMatchObject({ error: 'invalid_token' });
      const unauthenticated = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(unauthenticated.status).toBe(401);
      expect(await outcome).toMatchObject({ status: 'timed_out' });
      expect(polls).toEqual([]);
    });

    it('ping mode without a receiver is refused', async () => {
      await expect(requestApproval({ client: pingClient, user: 'alice', mode: 'ping' })).rejects.toMatchObject({ code: 'invalid_argument' });
    });
  });

  describe('withApproval', () => {
    const pay = (amount: number, payee: string) => ({ paid: amount, payee, token: currentApproval()?.tokens.access_token });

    it('runs the tool only after the user approved, with the approval in scope', async () => {
      const message = (amount: number, payee: string) => `Pay ${amount} EUR to ${payee}`;
      const gated = withApproval(pay, {
        client: basic,
        user: () => 'alice',
        bindingMessage: message,
        timeoutMs: DECIDED_WITHIN,
        onStarted: (_started, amount, payee) => void decideOnDevice(message(amount, payee), 'SUCCEED'),
      });
      const result = await gated(42, `Shop ${randomBytes(2).toString('hex')}`);
      expect(result.paid).toBe(42);
      expect(typeof result.token).toBe('string');
      expect(currentApproval()).toBeUndefined();
    });

    it('throws ApprovalNotGrantedError on a denial and never runs the tool', async () => {
      let ran = false;
      const message = uniqueMessage('kit tool deny');
      const gated = withApproval(
        () => {
          ran = true;
        },
        { client: basic, user: () => 'alice', bindingMessage: () => message, timeoutMs: DECIDED_WITHIN, onStarted: () => void decideOnDevice(message, 'UNAUTHORIZED') },
      );
      const error = await gated().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(ApprovalNotGrantedError);
      expect(error).toMatchObject({ status: 'denied', code: 'approval_denied' });
      expect(ran).toBe(false);
    });

    it('a protocol error from the provider reaches the caller as such', async () => {
      const gated = withApproval(() => 'ran', { client: basic, user: () => `nobody-${randomBytes(4).toString('hex')}`, bindingMessage: () => 'x' });
      await expect(gated()).rejects.toBeInstanceOf(CibaProtocolError);
    });
  });
});
