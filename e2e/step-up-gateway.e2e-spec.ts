import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TestDatabase, createTestDatabase, freePort, waitFor } from '@ciba/testing';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(repoRoot, 'apps/step-up-gateway/dist/main.js');

/** The built gateway as its own process (`node apps/step-up-gateway/dist/main.js`). */
function runGateway(env: Record<string, string>): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [MAIN], { cwd: repoRoot, env: { PATH: process.env['PATH'] ?? '', CIBA_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  return { child, exit };
}

describe('step-up gateway process', () => {
  let dir: string;
  let db: TestDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'step-up-gateway-'));
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const policy = {
    subjectTokens: { issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }], audience: 'api://payments' },
    providers: { main: { issuer: 'https://op.example', client: { clientId: 'gateway', clientSecret: 'gateway-secret' } } },
    upstream: 'http://127.0.0.1:9',
    routes: [{ method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.id}}' }],
  };

  it('refuses to start on an invalid policy, exiting 78 with each problem named', async () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify({ ...policy, routes: [{ method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.amount}}', provider: 'missing' }] }));
    const { exit } = runGateway({ CIBA_GATEWAY_POLICY: file, CIBA_DATABASE_URL: db.url, CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    const { code, stderr } = await exit;
    expect(code).toBe(78);
    expect(stderr).toContain('invalid configuration:');
    expect(stderr).toContain(`${file}: routes.0.provider: no provider named "missing"`);
    expect(stderr).toContain(`${file}: routes.0: {{params.amount}}: the path has no parameter :amount`);
    expect(stderr).not.toContain('at ');
  });

  it('refuses to start without its key, naming the variable but never a value', async () => {
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const { code, stderr } = await runGateway({ CIBA_GATEWAY_POLICY: file, CIBA_DATABASE_URL: db.url, CIBA_KEY_ENCRYPTION_KEY: 'short' }).exit;
    expect(code).toBe(78);
    expect(stderr).toContain('CIBA_KEY_ENCRYPTION_KEY: must decode to exactly 32 bytes');
    expect(stderr).not.toContain('short');
  });

  describe('running', () => {
    let gateway: ReturnType<typeof runGateway>;
    let url: string;

    beforeAll(async () => {
      const file = join(dir, 'running.json');
      writeFileSync(file, JSON.stringify(policy));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      gateway = runGateway({ CIBA_GATEWAY_POLICY: file, CIBA_DATABASE_URL: db.url, CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CIBA_HOST: '127.0.0.1', CIBA_PORT: String(port) });
      const exited = new AbortController();
      void gateway.exit.then(() => exited.abort());
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, { description: 'gateway ready', signal: exited.signal, timeoutMs: 30_000 });
    });

    afterAll(async () => {
      gateway.child.kill('SIGTERM');
      expect((await gateway.exit).code).toBe(0);
    });

    it('answers a protected route without a bearer token 401 invalid_token, and serves its metrics', async () => {
      const res = await fetch(`${url}/payments/1`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
      expect(await res.json()).toEqual({ error: 'invalid_token', error_description: 'a bearer access token is required' });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('ciba_step_up_decisions_total{route="POST /payments/:id",decision="invalid_token"} 1');
    });
  });
});
