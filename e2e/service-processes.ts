import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ClientReceiver, DeviceEmulator, type ReceivedNotification, type TestDatabase, createTestDatabase, freePort, waitFor } from '@ciba/testing';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

export type ServiceName = 'authorize' | 'token' | 'notifier' | 'audit' | 'callback-dispatcher';

/**
 * A built entry point run as its own OS process: its output collected, started until it is ready
 * (or fails with its output when it exits first), stopped gracefully or killed.
 */
export abstract class ManagedProcess {
  output = '';
  private child: ChildProcess | null = null;

  /** Spawns `apps/<app>/dist/main.js` with `env` and waits until `isReady` holds. */
  protected async spawnUntilReady(app: string, env: Record<string, string>, label: string, isReady: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const child = spawn(process.execPath, [join(repoRoot, `apps/${app}/dist/main.js`)], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
    const gone = new AbortController();
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code) => {
        gone.abort();
        reject(new Error(`${label} exited with ${code}:\n${this.output}`));
      });
    });
    const ready = waitFor(isReady, { timeoutMs, intervalMs: 100, description: `${label} ready`, signal: gone.signal });
    ready.catch(() => undefined); // when the process exits first, `exited` carries the error
    await Promise.race([ready, exited]);
  }

  /** SIGTERM (graceful) or SIGKILL (crash), and wait for the process to be gone. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }
}

/**
 * A service started from its built entry point (`npm run build` first), as its own OS process;
 * `replica` tells apart processes of one service sharing a deployment (0 for the first).
 */
export class ServiceProcess extends ManagedProcess {
  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly env: Record<string, string>,
    readonly replica = 0,
  ) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `notifier`, or `notifier#2` for the second replica. */
  get label(): string {
    return this.replica === 0 ? this.name : `${this.name}#${this.replica + 1}`;
  }

  start(): Promise<void> {
    const env = { ...this.env, CIBA_PORT: String(this.port), CIBA_HOST: '127.0.0.1' };
    return this.spawnUntilReady(this.name, env, this.label, async () => (await fetch(`${this.url}/readyz`).catch(() => null))?.status === 200, 30_000);
  }
}

export async function servicePorts(): Promise<Record<ServiceName, number>> {
  return {
    authorize: await freePort(),
    token: await freePort(),
    notifier: await freePort(),
    audit: await freePort(),
    'callback-dispatcher': await freePort(),
  };
}

/**
 * The environment every service of one test deployment shares: its database, a fresh key-encryption
 * key, the public URLs of authorize (the issuer), token and notifier on `ports`, the local NATS with
 * the deployment's own `busPrefix` (streams, consumers and KV bucket, so other deployments on the
 * same NATS never take its work) and a 1 s poll interval. Each test adds its channel and limits.
 */
export function deploymentEnvironment(databaseUrl: string, ports: Record<ServiceName, number>, busPrefix: string): Record<string, string> {
  return {
    CIBA_DATABASE_URL: databaseUrl,
    CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CIBA_ISSUER: `http://127.0.0.1:${ports.authorize}`,
    CIBA_TOKEN_URL: `http://127.0.0.1:${ports.token}`,
    CIBA_NOTIFIER_URL: `http://127.0.0.1:${ports.notifier}`,
    CIBA_NATS_SERVERS: 'nats://127.0.0.1:4222',
    CIBA_BUS_PREFIX: busPrefix,
    CIBA_POLL_INTERVAL: '1',
  };
}

/**
 * What a ping/push test deployment talks to: its scratch database, the device emulator behind the
 * HTTP authentication channel, and the client's notification receiver (plain HTTP on loopback);
 * with the services' ports and the environment naming them all.
 */
export async function deploymentPeers(busPrefix: string): Promise<{
  db: TestDatabase;
  device: DeviceEmulator;
  receiver: ClientReceiver;
  ports: Record<ServiceName, number>;
  env: Record<string, string>;
}> {
  const db = await createTestDatabase();
  const device = await DeviceEmulator.start();
  const receiver = await ClientReceiver.start();
  const ports = await servicePorts();
  const env = { ...deploymentEnvironment(db.url, ports, busPrefix), CIBA_AUTH_CHANNEL_URI: device.url, CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true' };
  return { db, device, receiver, ports, env };
}

/**
 * Prompt limits off: flow tests prompt one user many times in a row, which the per-user
 * notification limit and the denial backoff (README "Security model") would rightly refuse.
 */
export const NO_PROMPT_LIMITS = { CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0', CIBA_DENIAL_BACKOFF_THRESHOLD: '0' } as const;

/**
 * A poll-flow test deployment: its scratch database, the device emulator behind the HTTP
 * authentication channel, the services' ports, and the environment (prompt limits off, then
 * `extraEnv`); the issuer is the authorize service's URL.
 */
export async function flowDeployment(
  busPrefix: string,
  extraEnv: Record<string, string> = {},
): Promise<{ db: TestDatabase; device: DeviceEmulator; ports: Record<ServiceName, number>; env: Record<string, string>; issuer: URL }> {
  const db = await createTestDatabase();
  const device = await DeviceEmulator.start();
  const ports = await servicePorts();
  const env: Record<string, string> = { ...deploymentEnvironment(db.url, ports, busPrefix), CIBA_AUTH_CHANNEL_URI: device.url, ...NO_PROMPT_LIMITS, ...extraEnv };
  return { db, device, ports, env, issuer: new URL(env['CIBA_ISSUER'] ?? '') };
}

/** Writes a bootstrap file (clients and users, README "Bootstrap file") to a temporary folder; returns its path. */
export async function bootstrapFile(data: { clients: readonly object[]; users: readonly object[] }): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'ciba-e2e-')), 'bootstrap.json');
  await writeFile(file, JSON.stringify(data));
  return file;
}

/** A process for each of `names` on its port in `ports`, all with `env`; none started yet. */
export function serviceProcesses<N extends ServiceName>(names: readonly N[], ports: Record<ServiceName, number>, env: Record<string, string>): Record<N, ServiceProcess> {
  return Object.fromEntries(names.map((name) => [name, new ServiceProcess(name, ports[name], env)])) as Record<N, ServiceProcess>;
}

/**
 * `count` processes of each of `names`, all with `env` (one deployment: same database and bus): the
 * first on its port in `ports` (the URL the deployment advertises), the others on free ports of
 * their own, as replicas behind a load balancer would be; none started yet.
 */
export async function serviceReplicas<N extends ServiceName>(
  names: readonly N[],
  count: number,
  ports: Record<ServiceName, number>,
  env: Record<string, string>,
): Promise<Record<N, ServiceProcess[]>> {
  const replicas = {} as Record<N, ServiceProcess[]>;
  for (const name of names) {
    replicas[name] = [new ServiceProcess(name, ports[name], env)];
    for (let replica = 1; replica < count; replica++) replicas[name].push(new ServiceProcess(name, await freePort(), env, replica));
  }
  return replicas;
}

type OneOrMore = ServiceProcess | readonly ServiceProcess[];

/**
 * Starts a deployment's services (one process or several replicas each): the first authorize first
 * (it generates the signing key the others load), then all the others together.
 */
export async function startServices(services: { readonly authorize: OneOrMore } & Partial<Record<ServiceName, OneOrMore>>): Promise<void> {
  const first = [services.authorize].flat()[0];
  await first.start();
  await Promise.all(Object.values(services).flat().filter((s) => s !== first).map((s) => s.start()));
}

/** Runs the admin CLI (`apps/admin`) and returns its stdout. */
/**
 * The end-user decides on their device: the notification carrying `bindingMessage` reaches the
 * emulated authentication device, which answers on the HTTP authentication channel callback
 * (approves unless told otherwise). Throws unless the notifier accepts the decision.
 */
export async function decideOnDevice(
  device: DeviceEmulator,
  notifierUrl: string,
  bindingMessage: string,
  status: 'SUCCEED' | 'UNAUTHORIZED' | 'CANCELLED' = 'SUCCEED',
): Promise<ReceivedNotification> {
  const notification = await device.notificationFor((n) => n.body['binding_message'] === bindingMessage, 15_000);
  const res = await fetch(`${notifierUrl}/ext/ciba/auth/callback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${notification.decisionToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  if (res.status !== 200) throw new Error(`the notifier answered the device's decision with ${res.status}: ${await res.text()}`);
  return notification;
}

/**
 * Runs the admin CLI as an operator does, with `input` on its standard input; resolves with its exit
 * code and output whatever the code (for tests of the CLI's own answers).
 */
export function adminRun(args: string[], env: Record<string, string>, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'apps/admin/dist/main.js'), ...args], { cwd: repoRoot, env: { PATH: process.env['PATH'] ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export async function admin(args: string[], env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'apps/admin/dist/main.js'), ...args], {
      cwd: repoRoot,
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    return stdout;
  } catch (err) {
    // execFile's message names only the command: say what the CLI said.
    const { stderr, stdout, code } = err as { stderr?: string; stdout?: string; code?: unknown };
    throw Object.assign(new Error(`ciba-admin ${args[0] ?? ''} exited with ${String(code)}: ${(stderr || stdout || '').trim().slice(-2000)}`, { cause: err }), { code, stderr, stdout });
  }
}

/**
 * What the durable consumers of a deployment's bus under `prefix` have not finished, by consumer:
 * messages waiting plus delivered and not yet acknowledged. All 0: every message published so far
 * was handled, and none will come again.
 */
export async function consumerBacklog(jsm: JetStreamManager, prefix: string): Promise<Record<string, number>> {
  const backlog: Record<string, number> = {};
  for await (const stream of jsm.streams.names()) {
    if (!stream.startsWith(`${prefix}_`)) continue;
    for await (const info of jsm.consumers.list(stream)) {
      if (info.config.durable_name) backlog[info.name] = (backlog[info.name] ?? 0) + info.num_pending + info.num_ack_pending;
    }
  }
  return backlog;
}

/** Removes the streams and the KV bucket a test deployment created under `prefix`. */
export async function deleteBus(prefix: string): Promise<void> {
  const connection = await connect({ servers: '127.0.0.1:4222' });
  try {
    const jsm = await jetstreamManager(connection);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${prefix}_`) || name === `KV_${prefix}_ciba_poll_state`) await jsm.streams.delete(name);
    }
    await new Kvm(connection).open(`${prefix}_ciba_poll_state`).then((kv) => kv.destroy()).catch(() => undefined);
  } finally {
    await connection.drain();
  }
}

/**
 * Takes a test deployment down, whatever state its start left it in (anything not started is
 * skipped): its processes stopped gracefully, then its peers closed, its database dropped, its
 * streams and KV bucket deleted (`deleteBus`) and its scratch folders removed.
 */
export async function tearDownDeployment(parts: {
  readonly processes?: Iterable<ManagedProcess | null | undefined>;
  readonly peers?: ReadonlyArray<{ close(): Promise<unknown> } | null | undefined>;
  readonly db?: TestDatabase | null;
  readonly busPrefix: string;
  readonly dirs?: ReadonlyArray<string | null | undefined>;
}): Promise<void> {
  const started = <T>(items: Iterable<T | null | undefined>) => [...items].filter((item): item is T => item !== null && item !== undefined);
  await Promise.all(started(parts.processes ?? []).map((process) => process.stop()));
  await Promise.all(started(parts.peers ?? []).map((peer) => peer.close()));
  await parts.db?.drop();
  await deleteBus(parts.busPrefix);
  for (const dir of parts.dirs ?? []) if (dir) await rm(dir, { recursive: true, force: true });
}
