import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { freePort, waitFor } from '@ciba/testing';
import { CLIENTS, type TestProvider, startTestProvider } from '../apps/all-in-one/test/provider-harness.js';
import { type RunningGateway, SubjectIssuer, Upstream, gatewayConfig, startGateway, testPolicy } from '../apps/step-up-gateway/test/gateway-harness.js';

const NGINX = '/usr/sbin/nginx';

/**
 * The nginx side of the forward-auth contract, as the README documents it: `auth_request` asks the
 * gateway's `/auth` with the original method and URI, `auth_request_set` takes the header to
 * inject from its answer, and the challenge's `Retry-After` and `Link` go back to the client.
 */
function nginxConfig(prefix: string, port: number, gateway: string, upstream: string): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;

  # The approved request's new token replaces the caller's; other requests keep their own header.
  map $step_up_authorization $upstream_authorization {
    ""      $http_authorization;
    default $step_up_authorization;
  }

  server {
    listen 127.0.0.1:${port};

    location = /_step_up {
      internal;
      proxy_pass ${gateway}/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }

    location / {
      auth_request /_step_up;
      auth_request_set $step_up_authorization $upstream_http_authorization;
      auth_request_set $step_up_retry_after $upstream_http_retry_after;
      auth_request_set $step_up_link $upstream_http_link;
      add_header Retry-After $step_up_retry_after always;
      add_header Link $step_up_link always;
      proxy_set_header Authorization $upstream_authorization;
      proxy_pass ${upstream};
    }
  }
}
`;
}

describe('step-up gateway behind nginx auth_request (Debian nginx on loopback)', () => {
  let op: TestProvider;
  let subjects: SubjectIssuer;
  let upstream: Upstream;
  let gateway: RunningGateway;
  let prefix: string;
  let nginx: ChildProcess;
  let nginxUrl: string;
  let policy: ReturnType<typeof testPolicy>;
  /** One configuration (one sealing key) for the gateway and its restart. */
  let config: ReturnType<typeof gatewayConfig>;

  beforeAll(async () => {
    op = await startTestProvider();
    subjects = await SubjectIssuer.start();
    upstream = await Upstream.start();
    policy = testPolicy({ providerIssuer: op.url, clientId: CLIENTS.basic.id, clientSecret: CLIENTS.basic.secret, subjectIssuer: subjects });
    config = gatewayConfig(op.db.url);
    gateway = await startGateway(config, policy);
    prefix = mkdtempSync(join(tmpdir(), 'step-up-nginx-'));
    for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, dir));
    const port = await freePort();
    writeFileSync(join(prefix, 'nginx.conf'), nginxConfig(prefix, port, gateway.url, upstream.url));
    nginx = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new AbortController();
    nginx.once('exit', () => exited.abort());
    nginxUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        await fetch(`${nginxUrl}/public/ping`);
        return true;
      },
      { description: `nginx listening (${stderr})`, signal: exited.signal },
    ).catch((err: unknown) => {
      throw new Error(`nginx did not start: ${stderr}${readFileSync(join(prefix, 'error.log'), 'utf8')}`, { cause: err });
    });
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    await gateway?.close();
    await upstream?.close();
    await subjects?.close();
    await op?.close();
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  async function through(method: string, path: string, token: string | null): Promise<Response> {
    return fetch(`${nginxUrl}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  }

  it('challenges with 401 insufficient_user_authentication, then lets the approved retry through with the new token injected', async () => {
    const token = await subjects.token('alice');
    const first = await through('POST', '/payments/61', token);
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_user_authentication"/);
    expect(Number(first.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const status = /^<(\/step-up\/approvals\/[0-9a-f-]{36})>; rel="status"$/.exec(first.headers.get('link') ?? '');
    expect(status).not.toBeNull();
    expect(upstream.requests.filter((r) => r.url === '/payments/61')).toEqual([]);

    const { decisionToken } = await op.notification((body) => body['binding_message'] === 'Pay 61');
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    await waitFor(async () => ((await (await fetch(`${gateway.url}${status?.[1]}`)).json()) as { status: string }).status === 'approved', { description: 'approval seen' });

    const retry = await through('POST', '/payments/61', token);
    expect(retry.status).toBe(200);
    const forwarded = upstream.requests.find((r) => r.url === '/payments/61');
    const injected = String(forwarded?.headers.authorization).replace(/^Bearer /, '');
    expect(injected).not.toBe(token);
    expect(decodeJwt(injected)).toMatchObject({ iss: op.url, sub: 'alice' });
    // `once`: the approval let exactly one request through.
    expect((await through('POST', '/payments/61', token)).status).toBe(401);
  });

  it('answers 403 through nginx once the user denies', async () => {
    const token = await subjects.token('alice');
    const first = await through('POST', '/payments/62', token);
    expect(first.status).toBe(401);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === 'Pay 62');
    await op.decide(decisionToken, 'UNAUTHORIZED');
    await waitFor(async () => (await through('POST', '/payments/62', token)).status === 403, { description: 'denial answered 403' });
    expect(upstream.requests.filter((r) => r.url === '/payments/62')).toEqual([]);
  });

  /** The approval id of a challenge answered through nginx. */
  const approvalOf = (challenge: Response): string => /\/step-up\/approvals\/([0-9a-f-]{36})>/.exec(challenge.headers.get('link') ?? '')?.[1] ?? '';
  const approvalStatus = async (id: string): Promise<string> => ((await (await fetch(`${gateway.url}/step-up/approvals/${id}`)).json()) as { status: string }).status;

  it('refuses through nginx to replay an approval for another action or another user, and keeps it for its own', async () => {
    const alice = await subjects.token('alice');
    const first = await through('POST', '/payments/64', alice);
    expect(first.status).toBe(401);
    const { decisionToken } = await op.notification((body) => body['binding_message'] === 'Pay 64');
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    await waitFor(async () => (await approvalStatus(approvalOf(first))) === 'approved', { description: 'approval seen' });

    const otherAction = await through('POST', '/payments/65', alice);
    expect(otherAction.status).toBe(401);
    expect(approvalOf(otherAction)).not.toBe(approvalOf(first));
    const otherUser = await through('POST', '/payments/64', await subjects.token('bob'));
    expect(otherUser.status).toBe(401);
    expect(upstream.requests.filter((r) => r.url === '/payments/64' || r.url === '/payments/65')).toEqual([]);
    expect((await through('POST', '/payments/64', alice)).status).toBe(200);
  });

  it('starts over through nginx once the provider says the request expired', async () => {
    const token = await subjects.token('alice');
    const first = await through('POST', '/payments/66', token);
    expect(first.status).toBe(401);
    await op.notification((body) => body['binding_message'] === 'Pay 66');
    op.clock.advance(3_600);
    await waitFor(async () => (await approvalStatus(approvalOf(first))) === 'expired', { description: 'the gateway saw the expiry' });
    const retry = await through('POST', '/payments/66', token);
    expect(retry.status).toBe(401);
    expect(approvalOf(retry)).not.toBe(approvalOf(first));
  });

  it('keeps a pending approval across a restart of the gateway behind nginx', async () => {
    const token = await subjects.token('alice');
    const first = await through('POST', '/payments/67', token);
    expect(first.status).toBe(401);
    const port = Number(new URL(gateway.url).port);
    await gateway.close();
    const { decisionToken } = await op.notification((body) => body['binding_message'] === 'Pay 67');
    expect((await op.decide(decisionToken, 'SUCCEED')).status).toBe(200);
    gateway = await startGateway({ ...config, port }, policy);
    await waitFor(async () => (await approvalStatus(approvalOf(first))) === 'approved', { description: 'the restarted gateway saw the approval' });
    expect((await through('POST', '/payments/67', token)).status).toBe(200);
    expect(upstream.requests.some((r) => r.url === '/payments/67' && String(r.headers.authorization).startsWith('Bearer '))).toBe(true);
  });

  it('refuses a forged subject token through nginx, and passes routes without step-up untouched', async () => {
    expect((await through('POST', '/payments/63', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.')).status).toBe(401);
    const open = await through('GET', '/public/status', 'caller-own-token');
    expect(open.status).toBe(200);
    expect(upstream.requests.find((r) => r.url === '/public/status')?.headers.authorization).toBe('Bearer caller-own-token');
  });
});
