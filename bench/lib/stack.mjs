// Infrastructure for the benchmark: free ports, waiting, the bench databases, the admin CLI, and our
// services and the all-in-one as separate OS processes (a plain-JS counterpart of e2e/service-processes.ts).
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port free on 127.0.0.1 at the time of asking. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `condition` until it returns something truthy; throws after `timeoutMs`. */
export async function waitFor(condition, { timeoutMs = 30_000, intervalMs = 100, description = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
      if (error?.fatal) throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export function databaseUrl(adminUrl, database) {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createDatabase(adminUrl, name) {
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return databaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl, name) {
  if (process.env.BENCH_KEEP_DB === '1') return;
  await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** Runs the admin CLI (apps/admin) and returns its stdout. */
export async function admin(repoRoot, args, env) {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'apps/admin/dist/main.js'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** One service from its built entry point, as its own OS process; `label` tells replicas apart (`notifier#2`). */
export class ServiceProcess {
  constructor(repoRoot, name, port, env, label = name) {
    this.repoRoot = repoRoot;
    this.name = name;
    this.label = label;
    this.port = port;
    this.env = env;
    this.child = null;
    this.output = '';
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  async start() {
    // e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" to profile our processes under load
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, join(this.repoRoot, `apps/${this.name}/dist/main.js`)], {
      cwd: this.repoRoot,
      env: {
        PATH: process.env.PATH ?? '',
        ...this.env,
        CIBA_PORT: String(this.port),
        CIBA_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d) => {
      // Keep the tail only: warn-level logs under load can be chatty.
      this.output = (this.output + d.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    await waitFor(
      async () => {
        if (child.exitCode !== null) {
          const error = new Error(`${this.label} exited with ${child.exitCode}:\n${this.output}`);
          error.fatal = true;
          throw error;
        }
        const res = await fetch(`${this.url}/readyz`).catch(() => null);
        return res?.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: `${this.label} ready` },
    );
  }

  /** SIGTERM (graceful), SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 10_000) {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
