import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeviceEmulator, type TestDatabase, createTestDatabase, freePort } from '@ciba/testing';
import { ManagedProcess, decideOnDevice, repoRoot } from './service-processes.js';

/** The all-in-one start from its built entry point (as `npm start` runs it), with its demo clients and users. */
class AllInOneStart extends ManagedProcess {
  private db: TestDatabase | null = null;
  port = 0;

  constructor(private readonly deviceUrl: string) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.db = await createTestDatabase();
    this.port = await freePort();
    const env = {
      CIBA_DATABASE_URL: this.db.url,
      CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CIBA_PORT: String(this.port),
      CIBA_ISSUER: `http://127.0.0.1:${this.port}`,
      CIBA_LOG_LEVEL: 'warn',
      CIBA_AUTH_CHANNEL_URI: this.deviceUrl,
      CIBA_POLL_INTERVAL: '2',
    };
    const ready = async () => this.output.includes('listening on') && (await fetch(`${this.url}/readyz`).catch(() => null))?.status === 200;
    await this.spawnUntilReady('all-in-one', env, 'the all-in-one start', ready, 60_000);
  }

  override async stop(): Promise<number | null> {
    const code = await super.stop('SIGTERM');
    await this.db?.drop();
    return code;
  }
}

interface AgentRun {
  /** Resolves with the binding message once the agent has asked for approval. */
  readonly asked: Promise<string>;
  readonly exited: Promise<{ code: number | null; output: string }>;
}

/** Runs examples/payment-agent/agent.ts exactly as its README says, against `issuer`. */
function runAgent(issuer: string, args: string[]): AgentRun {
  const child = spawn(process.execPath, [join(repoRoot, 'examples/payment-agent/agent.ts'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', CIBA_ISSUER: issuer },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let onAsked: (message: string) => void = () => undefined;
  const asked = new Promise<string>((resolve) => (onAsked = resolve));
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const message = /it shows "([^"]+)"/.exec(output)?.[1];
    if (message) onAsked(message);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output })));
  return { asked, exited };
}

/**
 * The example agent of the client kit (examples/payment-agent) against the all-in-one start: it
 * must keep running as the README describes, so it is run here as a user would run it.
 */
describe('the payment agent example against the all-in-one start', () => {
  let device: DeviceEmulator;
  let start: AllInOneStart;

  beforeAll(async () => {
    device = await DeviceEmulator.start();
    start = new AllInOneStart(device.url);
    await start.start();
  }, 90_000);

  afterAll(async () => {
    await start?.stop();
    await device?.close();
  });

  it('pays only after alice approves the payment on her device, which shows the binding message', async () => {
    const payee = `Merchant ${randomBytes(2).toString('hex')}`;
    const agent = runAgent(start.url, ['--user', 'alice', '--amount', '42.00', '--currency', 'EUR', '--payee', payee]);
    const message = await agent.asked;
    expect(message).toMatch(new RegExp(`^Pay 42\\.00 EUR to ${payee} \\(ref [0-9A-F]{6}\\)$`));
    const notification = await decideOnDevice(device, start.url, message, 'SUCCEED');
    // The device saw the exact payment (RFC 9396), not only the message.
    expect(JSON.stringify(notification.body)).toContain(payee);
    const { code, output } = await agent.exited;
    expect({ code, output }).toEqual({ code: 0, output: expect.stringMatching(/tool: payment executed, reference [0-9A-F]{6}/) });
  }, 60_000);

  it('does not pay when alice denies it, and says so (exit status 2)', async () => {
    const agent = runAgent(start.url, ['--user', 'alice', '--amount', '9999.99', '--currency', 'EUR', '--payee', `Mallory ${randomBytes(2).toString('hex')}`]);
    await decideOnDevice(device, start.url, await agent.asked, 'UNAUTHORIZED');
    const { code, output } = await agent.exited;
    expect(code).toBe(2);
    expect(output).toContain('approval: denied');
    expect(output).not.toContain('tool: payment');
  }, 60_000);

  it('refuses malformed arguments before contacting the provider (exit status 64)', async () => {
    const { code, output } = await runAgent(start.url, ['--amount', '1e9']).exited;
    expect(code).toBe(64);
    expect(output).toContain('--amount must be a number');
  });

  it('an unknown user is reported as the provider error it is, not a crash', async () => {
    const { code, output } = await runAgent(start.url, ['--user', `nobody-${randomBytes(3).toString('hex')}`]).exited;
    expect(code).toBe(1);
    expect(output).toMatch(/agent: unknown_user_id/);
  });
});
