// Setting up a run: preconditions, the load-generator worker, the receiver's certificate, pool
// sizes, the bootstrap file (clients and users every implementation gets), the commit.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { SERVICES } from './config.mjs';

/** The load generator in a worker thread (lib/driver.mjs); it also hosts the clients' notification receiver. */
export function startDriver(benchDir) {
  const worker = new Worker(join(benchDir, 'lib/driver.mjs'));
  const calls = new Map();
  let nextId = 0;
  worker.on('message', ({ id, result, error }) => {
    const call = calls.get(id);
    if (!call) return;
    calls.delete(id);
    if (error) call.reject(new Error(`driver: ${error}`));
    else call.resolve(result);
  });
  worker.on('error', (error) => {
    for (const call of calls.values()) call.reject(error);
    calls.clear();
  });
  return {
    call: (op, args) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        calls.set(id, { resolve, reject });
        worker.postMessage({ id, op, args });
      }),
    notify: (notification) => worker.postMessage({ op: 'notification', ...notification }),
    resetNotifications: () => worker.postMessage({ op: 'reset-notifications' }),
    terminate: () => worker.terminate(),
  };
}

export async function checkPort(port, what) {
  const net = await import('node:net');
  await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(resolve));
    socket.once('error', () => reject(new Error(`${what} is not listening on 127.0.0.1:${port}; run \`bash scripts/ensure-services.sh\` first`)));
  });
}

export function ensureBuild(repoRoot, log) {
  const missing = [...SERVICES, 'admin', 'all-in-one'].filter((name) => !existsSync(join(repoRoot, `apps/${name}/dist/main.js`)));
  if (missing.length === 0) return;
  log(`apps/{${missing.join(',')}}/dist missing: running npm run build`);
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * A self-signed certificate for 127.0.0.1, made for this run with the openssl CLI: the receiver
 * also listens over HTTPS because oidc-provider only accepts an https notification endpoint (see
 * lib/reference-op.mjs). null when openssl is not available (the reference's ping is skipped then).
 */
export function selfSignedCertificate(dir, log) {
  const key = join(dir, 'receiver-key.pem');
  const cert = join(dir, 'receiver-cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } catch (error) {
    log(`openssl could not make a certificate (${error.message.split('\n')[0]}): the reference's ping flow is skipped`);
    return null;
  }
}

/**
 * Connections per process. Every implementation stays up for the whole run, so all their pools
 * must fit PostgreSQL's max_connections together (with room for the bench's own): the single
 * processes (all-in-one, reference) get BENCH_POOL_SIZE, each service the same or what fits.
 */
export async function poolSizes(config, log) {
  const c = new pg.Client({ connectionString: config.adminUrl });
  await c.connect();
  const { rows } = await c.query("SELECT current_setting('max_connections')::int AS max");
  await c.end();
  const singles = ['aio', 'ref-pg'].filter((i) => config.implementations.includes(i)).length;
  const left = rows[0].max - 10 - singles * config.poolSize;
  // Every service process of every deployment of the run: the five, and the scaled ones with their replicas.
  const processes =
    (config.implementations.includes('services') ? SERVICES.length : 0) +
    (config.implementations.includes('scaled') ? SERVICES.reduce((n, name) => n + (config.replicas?.[name] ?? 1), 0) : 0);
  const services = Math.max(2, Math.min(config.poolSize, Math.floor(left / Math.max(1, processes))));
  if (services < config.poolSize && processes > 0) {
    log(`max_connections ${rows[0].max}: each service gets CIBA_DATABASE_POOL_SIZE=${services} (the single processes ${config.poolSize})`);
  }
  return { single: config.poolSize, services, maxConnections: rows[0].max };
}

/**
 * The clients and users of every implementation (ours load this file; the reference registers the
 * poll and ping clients with the same ids and secrets): a poll client, and a ping and a push client
 * whose notification endpoint is the receiver (plain HTTP on 127.0.0.1 for ours).
 */
export async function writeBootstrapFile(file, { clients, users, receiver }) {
  const callbackClient = (c, mode) => ({
    client_id: c.id,
    client_secret: c.secret,
    client_name: `Benchmark ${mode} client`,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
    scope: 'openid offline_access',
    backchannel_token_delivery_mode: mode,
    backchannel_client_notification_endpoint: `${receiver.httpOrigin}/${mode}`,
  });
  await writeFile(
    file,
    JSON.stringify({
      clients: [
        {
          client_id: clients.poll.id,
          client_secret: clients.poll.secret,
          client_name: 'Benchmark client',
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
          scope: 'openid profile email offline_access',
          backchannel_token_delivery_mode: 'poll',
        },
        callbackClient(clients.ping, 'ping'),
        callbackClient(clients.push, 'push'),
      ],
      users: users.map((sub) => ({ sub, name: `Bench ${sub}`, email: `${sub}@bench.example` })),
    }),
  );
}

export function gitCommit(repoRoot) {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
