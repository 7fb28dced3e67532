import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import { parseBootstrap } from '@ciba/config';
import { TypeOrmAuthRequestRepository, TypeOrmEvidenceRecordRepository } from '@ciba/persistence';
import { loadBootstrap } from '@ciba/platform';
import { waitFor } from '@ciba/testing';
import { CLIENTS, type TestProvider, bootstrapDeps, startTestProvider } from '../apps/all-in-one/test/provider-harness.js';
import type { GatewayConfig } from '../apps/step-up-gateway/src/gateway-config.js';
import type { Policy } from '../apps/step-up-gateway/src/policy/policy.js';
import { type RunningGateway, SubjectIssuer, Upstream, gatewayConfig, startGateway, testPolicy } from '../apps/step-up-gateway/test/gateway-harness.js';

const REPORTER = { clientId: 'step-up-reporter', clientSecret: 'step-up-reporter-secret' };

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

describe('step-up gateway (reverse proxy and forward-auth) against this provider', () => {
  let op: TestProvider;
  let subjects: SubjectIssuer;
  let upstream: Upstream;
  let config: GatewayConfig;
  let policy: Policy;
  let gateway: RunningGateway;

  beforeAll(async () => {
    op = await startTestProvider();
    // The gateway reports what it forwarded as a client of its own, registered to report.
    await loadBootstrap(parseBootstrap({ clients: [{ client_id: REPORTER.clientId, client_secret: REPORTER.clientSecret, grant_types: [], scope: 'ciba:audit.report' }] }), bootstrapDeps(op));
    subjects = await SubjectIssuer.start();
    upstream = await Upstream.start();
    config = gatewayConfig(op.db.url);
    policy = testPolicy({
      providerIssuer: op.url,
      clientId: CLIENTS.basic.id,
      clientSecret: CLIENTS.basic.secret,
      subjectIssuer: subjects,
      upstream: upstream.url,
      audit: { endpoint: `${op.url}/audit/downstream`, client: REPORTER },
    });
    gateway = await startGateway(config, policy);
  });

  afterAll(async () => {
    await gateway.close();
    await upstream.close();
    await subjects.close();
    await op.close();
  });

  async function send(method: string, path: string, token: string | null, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { raw: text };
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async function approvalStatus(id: string): Promise<string> {
    const res = await fetch(`${gateway.url}/step-up/approvals/${id}`);
    return String(((await res.json()) as Record<string, unknown>)['status']);
  }

  /** The device answers the step-up request whose binding message is `message`. */
  async function answerOnDevice(message: string, status: 'SUCCEED' | 'UNAUTHORIZED'): Promise<void> {
    const { decisionToken } = await op.notification((body) => body['binding_message'] === message);
    expect((await op.decide(decisionToken, status)).status).toBe(200);
  }

  async function approved(challenge: Answer, message: string): Promise<void> {
    await answerOnDevice(message, 'SUCCEED');
    await waitFor(async () => (await approvalStatus(String(challenge.body['approval']))) === 'approved', { description: 'the gateway saw the approval' });
  }

  function expectStepUpChallenge(answer: Answer): void {
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_user_authentication", error_description="[^"]+"/);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(answer.headers.get('link')).toBe(`</step-up/approvals/${String(answer.body['approval'])}>; rel="status"`);
    expect(answer.body).toMatchObject({ error: 'insufficient_user_authentication', status: 'pending', approval: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  }

  it('answers 401 insufficient_user_authentication at once, then forwards the retry after approval with the new access token (RFC 9470)', async () => {
    const token = await subjects.token('alice');
    const body = JSON.stringify({ to: 'bob', amount: '42' });
    const first = await send('POST', '/payments/42?currency=EUR', token, body);
    expectStepUpChallenge(first);
    expect(upstream.requests.filter((r) => r.url.startsWith('/payments/42'))).toEqual([]);
    expect(await approvalStatus(String(first.body['approval']))).toBe('pending');

    await approved(first, 'Pay 42');
    const retry = await send('POST', '/payments/42?currency=EUR', token, body);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-upstream')).toBe('payments');
    const forwarded = upstream.requests.find((r) => r.url === '/payments/42?currency=EUR');
    expect(forwarded?.body).toBe(body);
    const injected = String(forwarded?.headers.authorization).replace(/^Bearer /, '');
    expect(injected).not.toBe(token);
    expect(decodeJwt(injected)).toMatchObject({ iss: op.url, sub: 'alice', authorization_details: [{ type: 'payment_initiation', instructedAmount: { currency: 'EUR', amount: '42' } }] });

    // The gateway reported the action it allowed: it joins the request's evidence record.
    const request = await new TypeOrmAuthRequestRepository(op.db.dataSource).findByAccessTokenJti(String(decodeJwt(injected).jti));
    const records = new TypeOrmEvidenceRecordRepository(op.db.dataSource);
    let downstream: readonly unknown[] = [];
    await waitFor(async () => {
      downstream = (await records.find(String(request?.id)))?.downstream ?? [];
      return downstream.length > 0;
    }, { description: 'the downstream report in the evidence record' });
    expect(downstream).toEqual([expect.objectContaining({ outcome: 'allowed', action: 'payments.create', resource: 'POST /payments/42', reporterClientId: REPORTER.clientId })]);
  });

  it('consumes a `once` approval: the next identical request needs a new approval', async () => {
    const token = await subjects.token('alice');
    const body = '{"n":1}';
    const first = await send('POST', '/payments/7', token, body);
    await approved(first, 'Pay 7');
    expect((await send('POST', '/payments/7', token, body)).status).toBe(200);
    const again = await send('POST', '/payments/7', token, body);
    expectStepUpChallenge(again);
    expect(again.body['approval']).not.toBe(first.body['approval']);
    expect(await approvalStatus(String(first.body['approval']))).toBe('consumed');
  });

  it('refuses to replay an approval for another body, another action or another user', async () => {
    const alice = await subjects.token('alice');
    const first = await send('POST', '/payments/43', alice, '{"to":"bob"}');
    await approved(first, 'Pay 43');

    const otherBody = await send('POST', '/payments/43', alice, '{"to":"mallory"}');
    expectStepUpChallenge(otherBody);
    expect(otherBody.body['approval']).not.toBe(first.body['approval']);
    const otherAction = await send('POST', '/payments/44', alice, '{"to":"bob"}');
    expectStepUpChallenge(otherAction);
    expect(otherAction.body['approval']).not.toBe(first.body['approval']);
    const otherUser = await send('POST', '/payments/43', await subjects.token('bob'), '{"to":"bob"}');
    expectStepUpChallenge(otherUser);
    expect(otherUser.body['approval']).not.toBe(first.body['approval']);
    expect(upstream.requests.filter((r) => r.url === '/payments/43' || r.url === '/payments/44')).toEqual([]);

    // The approval is still there for the very request it was given for.
    expect((await send('POST', '/payments/43', alice, '{"to":"bob"}')).status).toBe(200);
  });

  it('answers 403 with the reason once the user denies, and never forwards', async () => {
    const token = await subjects.token('alice');
    const first = await send('POST', '/payments/45', token, '{}');
    expectStepUpChallenge(first);
    await answerOnDevice('Pay 45', 'UNAUTHORIZED');
    await waitFor(async () => (await approvalStatus(String(first.body['approval']))) === 'denied', { description: 'the gateway saw the denial' });
    const retry = await send('POST', '/payments/45', token, '{}');
    expect(retry.status).toBe(403);
    expect(retry.body).toMatchObject({ error: 'access_denied', status: 'denied', approval: first.body['approval'] });
    expect(String(retry.body['error_description'])).toContain('access_denied');
    expect(upstream.requests.filter((r) => r.url === '/payments/45')).toEqual([]);
  });

  it('keeps a pending approval across a restart of the gateway: the new process polls it and forwards the retry', async () => {
    const token = await subjects.token('alice');
    const first = await send('POST', '/payments/46', token, '{"restart":true}');
    expectStepUpChallenge(first);
    await gateway.close();
    await answerOnDevice('Pay 46', 'SUCCEED');
    gateway = await startGateway({ ...config, port: Number(new URL(gateway.url).port) }, policy);
    await waitFor(async () => (await approvalStatus(String(first.body['approval']))) === 'approved', { description: 'the restarted gateway saw the approval' });
    const retry = await send('POST', '/payments/46', token, '{"restart":true}');
    expect(retry.status).toBe(200);
    expect(upstream.requests.some((r) => r.url === '/payments/46' && String(r.headers.authorization).startsWith('Bearer '))).toBe(true);
  });

  it('reuses a `ttl` approval for the same user and action, and only for them', async () => {
    const token = await subjects.token('alice');
    const first = await send('GET', '/reports/q1', token);
    expectStepUpChallenge(first);
    await approved(first, 'Read report q1');
    expect((await send('GET', '/reports/q1', token)).status).toBe(200);
    expect((await send('GET', '/reports/q1', await subjects.token('alice'))).status).toBe(200);
    expectStepUpChallenge(await send('GET', '/reports/q2', token));
  });

  it('answers the forward-auth check (nginx auth_request contract): 401 challenge, then 200 with the header to inject', async () => {
    const token = await subjects.token('alice');
    const check = (uri: string) => send('GET', '/auth', token, undefined, { 'x-original-method': 'POST', 'x-original-uri': uri });
    const first = await check('/payments/47');
    expectStepUpChallenge(first);
    await approved(first, 'Pay 47');
    const res = await fetch(`${gateway.url}/auth`, { headers: { authorization: `Bearer ${token}`, 'x-original-method': 'POST', 'x-original-uri': '/payments/47' } });
    expect(res.status).toBe(200);
    expect(decodeJwt(String(res.headers.get('authorization')).replace(/^Bearer /, ''))).toMatchObject({ iss: op.url, sub: 'alice' });
    // A route without step-up, and a path no route covers: 200 with nothing to inject.
    const open = await fetch(`${gateway.url}/auth`, { headers: { 'x-original-method': 'GET', 'x-original-uri': '/public/status' } });
    expect(open.status).toBe(200);
    expect(open.headers.get('authorization')).toBeNull();
  });

  it('starts over once the provider says the request expired', async () => {
    const token = await subjects.token('alice');
    const first = await send('POST', '/payments/48', token, '{}');
    expectStepUpChallenge(first);
    await op.notification((body) => body['binding_message'] === 'Pay 48');
    // The provider's clock moves past the request's expiry: its next poll answers expired_token.
    op.clock.advance(3_600);
    await waitFor(async () => (await approvalStatus(String(first.body['approval']))) === 'expired', { description: 'the gateway saw the expiry' });
    const retry = await send('POST', '/payments/48', token, '{}');
    expectStepUpChallenge(retry);
    expect(retry.body['approval']).not.toBe(first.body['approval']);
  });

  describe('hostile subject tokens and requests', () => {
    async function expectInvalidToken(token: string | null, description: RegExp): Promise<void> {
      const answer = await send('POST', '/payments/99', token, '{}');
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(answer.body).toMatchObject({ error: 'invalid_token', error_description: expect.stringMatching(description) });
    }

    it('refuses a request without a bearer token', async () => {
      await expectInvalidToken(null, /bearer access token is required/);
      const basic = await send('POST', '/payments/99', null, '{}', { authorization: 'Basic YWxpY2U6c2VjcmV0' });
      expect(basic.status).toBe(401);
    });

    it('refuses a token signed with a key that is not the issuer’s (forged)', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'forged' })
        .setIssuer(subjects.issuer)
        .setSubject('alice')
        .setAudience('api://payments')
        .setExpirationTime('5m')
        .sign(privateKey);
      await expectInvalidToken(forged, /signature/);
    });

    it('refuses an expired token', async () => {
      await expectInvalidToken(await subjects.token('alice', {}, Math.floor(Date.now() / 1000) - 600), /expired/);
    });

    it('refuses a token from an issuer the policy does not trust', async () => {
      const other = await SubjectIssuer.start();
      try {
        await expectInvalidToken(await other.token('alice'), /trusted issuer/);
      } finally {
        await other.close();
      }
    });

    it('refuses a token for another audience, and one that is not a JWT', async () => {
      const otherAudience = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(subjects.issuer).setSubject('alice').setAudience('api://other').setExpirationTime('5m').sign(randomBytes(32));
      await expectInvalidToken(otherAudience, /not valid|algorithm|signature/);
      await expectInvalidToken('not-a-jwt', /not a JWT/);
    });

    it('answers 413 for a body larger than the policy reads, before starting any step-up', async () => {
      const answer = await send('POST', '/payments/98', await subjects.token('alice'), 'x'.repeat(policy.maxBodyBytes + 1));
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({ error: 'invalid_request' });
    });

    it('refuses paths an upstream could normalise into a protected route (dot segments, encoded or repeated slashes)', async () => {
      const token = await subjects.token('alice');
      // node:http sends the path as written; fetch would resolve the dot segments itself.
      const raw = (path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${gateway.url}/`, { method: 'POST', path, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end('{}');
        });
      for (const path of ['/public/../payments/97', '/public/%2e%2e/payments/97', '/public%2F..%2Fpayments/97', '//payments/97']) {
        const answer = await raw(path);
        expect({ path, status: answer.status }).toEqual({ path, status: 400 });
        expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
      }
      const check = await send('GET', '/auth', token, undefined, { 'x-original-method': 'POST', 'x-original-uri': '/public/../payments/97' });
      expect(check.status).toBe(400);
      expect(upstream.requests.filter((r) => r.url.includes('97'))).toEqual([]);
    });

    it('protects a route however the path is cased or whether it ends in a slash', async () => {
      const token = await subjects.token('alice');
      expectStepUpChallenge(await send('POST', '/PAYMENTS/96', token, '{}'));
      expectStepUpChallenge(await send('POST', '/payments/96/', token, '{}'));
      expect(upstream.requests.filter((r) => r.url.toLowerCase().includes('/payments/96'))).toEqual([]);
    });

    it('answers 404 in the OAuth format for an approval id that is not one', async () => {
      const res = await fetch(`${gateway.url}/step-up/approvals/..%2F..%2Fetc`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'not_found' });
    });

    it('answers 400 to a forward-auth check naming no absolute path', async () => {
      const answer = await send('GET', '/auth', await subjects.token('alice'), undefined, { 'x-original-method': 'POST', 'x-original-uri': 'http://evil/payments/1' });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ error: 'invalid_request' });
    });
  });

  it('forwards requests on routes without step-up as they are, the caller’s own Authorization included', async () => {
    const res = await send('GET', '/public/status', null, undefined, { authorization: 'Bearer caller-token' });
    expect(res.status).toBe(200);
    expect(upstream.requests.find((r) => r.url === '/public/status')?.headers.authorization).toBe('Bearer caller-token');
  });

  it('still answers its own health endpoints', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('ciba_step_up_decisions_total{route="payments.create",decision="challenge"}');
  });
});
