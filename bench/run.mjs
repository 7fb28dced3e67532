#!/usr/bin/env node
// Benchmark: our CIBA OpenID Provider (five services as separate processes, PostgreSQL, NATS
// JetStream) against node-oidc-provider (in this process, in memory), on this machine, over
// 127.0.0.1: poll (bc-authorize, pending polls, full flow) and ping/push (approval -> client holding
// tokens). See bench/README.md for what is measured and how to read it.
//
//   bash scripts/ensure-services.sh && npm run build && npm run bench
//
// Knobs (environment): BENCH_DURATION (s, default 10), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (64),
// BENCH_PENDING (2000), BENCH_USERS (1000), BENCH_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
// BENCH_NATS (nats://127.0.0.1:4222).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { AuthReqIds } from '@ciba/tokens';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { cpuPercent, cpuSnapshot } from './lib/cpu.mjs';
import { startDevice } from './lib/device.mjs';
import { startPgProxy } from './lib/pg-proxy.mjs';
import { startReference } from './lib/reference-op.mjs';
import { ServiceProcess, admin, createDatabase, dropDatabase, freePort, sleep, waitFor } from './lib/stack.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..');

const num = (name, fallback) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const CONFIG = {
  duration: num('BENCH_DURATION', 10),
  warmup: num('BENCH_WARMUP', 2),
  connections: num('BENCH_CONNECTIONS', 64),
  pending: num('BENCH_PENDING', 2000),
  users: num('BENCH_USERS', 1000),
  pollInterval: 5,
  poolSize: 20,
  adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  nats: process.env.BENCH_NATS ?? 'nats://127.0.0.1:4222',
  pgProxy: process.env.BENCH_PG_PROXY !== '0',
};
const CLIENT = { id: 'bench-client', secret: `bench-secret-${randomBytes(12).toString('hex')}` };
// Ping and push clients (ours); the reference registers a ping client with the same id and secret.
const PING_CLIENT = { id: 'bench-ping', secret: `bench-ping-${randomBytes(12).toString('hex')}` };
const PUSH_CLIENT = { id: 'bench-push', secret: `bench-push-${randomBytes(12).toString('hex')}` };
/** The latency target for ping and push: approval -> client holding tokens, p99, at 64 concurrent flows. */
const CALLBACK_TARGET_P99_MS = 50;
// A bus namespace of our own (CIBA_BUS_PREFIX), so that other deployments on the same NATS (test
// runs) neither share our durable consumers nor pollute our counts. Builds without
// CIBA_BUS_PREFIX support fall back to the shared, unprefixed names (detected after start).
const BUS_PREFIX = `bench_${randomBytes(4).toString('hex')}`;
const busNames = (prefix) => ({
  prefix,
  lifecycle: prefix ? `${prefix}_CIBA_LIFECYCLE` : 'CIBA_LIFECYCLE',
  deadLetter: prefix ? `${prefix}_CIBA_DEAD_LETTER` : 'CIBA_DEAD_LETTER',
  created: `${prefix ? `${prefix}.` : ''}ciba.lifecycle.auth_request.created`,
  pollKv: prefix ? `KV_${prefix}_ciba_poll_state` : 'KV_ciba_poll_state',
});
let BUS = busNames(BUS_PREFIX);
const SERVICES = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];

const startedAt = Date.now();
const log = (...args) => console.error(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(5)}s]`, ...args);

// ---- cleanup, even on failure or Ctrl-C -------------------------------------------------------

const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const [label, fn] = cleanups.pop();
      try {
        await fn();
      } catch (error) {
        log(`cleanup "${label}" failed: ${error?.message ?? error}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---- the load-generator worker ----------------------------------------------------------------

function startDriver() {
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

// ---- helpers ------------------------------------------------------------------------------------

async function checkPort(port, what) {
  const net = await import('node:net');
  await new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.end(resolve));
    socket.once('error', () => reject(new Error(`${what} is not listening on 127.0.0.1:${port}; run \`bash scripts/ensure-services.sh\` first`)));
  });
}

function ensureBuild() {
  const missing = [...SERVICES, 'admin'].filter((name) => !existsSync(join(repoRoot, `apps/${name}/dist/main.js`)));
  if (missing.length === 0) return;
  log(`apps/{${missing.join(',')}}/dist missing: running npm run build`);
  execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
}

async function streamCounts(jsm) {
  try {
    const info = await jsm.streams.info(BUS.lifecycle, { subjects_filter: BUS.created });
    return { messages: info.state.messages, lastSeq: info.state.last_seq, created: info.state.subjects?.[BUS.created] ?? 0 };
  } catch (error) {
    return { error: error.message };
  }
}

async function kvWrites(jsm) {
  try {
    return (await jsm.streams.info(BUS.pollKv)).state.last_seq;
  } catch {
    return null; // no poll-state bucket in this build
  }
}

async function consumerBacklog(jsm) {
  let total = 0;
  const detail = {};
  for (const name of ['notifier', 'audit', 'callback-dispatcher']) {
    try {
      const info = await jsm.consumers.info(BUS.lifecycle, name);
      detail[name] = info.num_pending + info.num_ack_pending;
      total += detail[name];
    } catch {
      detail[name] = null;
    }
  }
  return { total, detail };
}

/** Waits (bounded) until JetStream consumers are idle and the device heard about every request. */
async function settle(jsm, device, expectedNotifications, label, timeoutMs = 60_000) {
  const started = Date.now();
  try {
    await waitFor(async () => device.received >= expectedNotifications && (await consumerBacklog(jsm)).total === 0, {
      timeoutMs,
      intervalMs: 200,
      description: `${label}: notifier and audit to drain`,
    });
    log(`${label}: settled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } catch (error) {
    log(`${label}: NOT settled (${error.message}); device received ${device.received}/${expectedNotifications}, backlog ${JSON.stringify((await consumerBacklog(jsm)).detail)}`);
    return false;
  }
}

/**
 * A self-signed certificate for 127.0.0.1, made for this run with the openssl CLI: the receiver
 * also listens over HTTPS because oidc-provider only accepts an https notification endpoint (see
 * lib/reference-op.mjs). null when openssl is not available (the reference's ping is skipped then).
 */
function selfSignedCertificate(dir) {
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

async function xacts(db, name) {
  const { rows } = await db.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [name]);
  return Number(rows[0].n);
}

/**
 * Backends publish their statistics lazily (PostgreSQL 15+: at most once a second, later when the
 * stats lock is contended), so counters are read once they have stopped moving faster than
 * `idlePerS` (a loaded service flushes its backlog within a few seconds). Bounded.
 */
async function settledXacts(db, name, idlePerS = 5, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let previous = await xacts(db, name);
  let quiet = 0;
  for (;;) {
    await sleep(1000);
    const current = await xacts(db, name);
    quiet = current - previous <= idlePerS ? quiet + 1 : 0;
    if (quiet >= 2 || Date.now() > deadline) return current;
    previous = current;
  }
}

/** Index and sequential scans, and updated rows, per table of the bench database (same stats lag). */
async function tableCounters(dbUrl) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT relname, coalesce(idx_scan, 0) + coalesce(seq_scan, 0) AS scans, n_tup_upd AS upd, n_tup_ins AS ins
         FROM pg_stat_user_tables WHERE relname IN ('auth_requests', 'clients', 'decision_tokens', 'signing_keys', 'users')`,
    );
    return Object.fromEntries(rows.map((r) => [r.relname, { scans: Number(r.scans), upd: Number(r.upd), ins: Number(r.ins) }]));
  } finally {
    await c.end();
  }
}

function tableDelta(before, after, polls) {
  return Object.entries(after)
    .map(([table, a]) => {
      const b = before[table] ?? { scans: 0, upd: 0, ins: 0 };
      const scans = a.scans - b.scans;
      const upd = a.upd - b.upd;
      return scans || upd ? `${table}: ${fmt(scans / polls, 2)} scans${upd ? ` + ${fmt(upd / polls, 2)} row updates` : ''}` : null;
    })
    .filter(Boolean)
    .join('; ');
}

const fmt = (x, digits = 1) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));
const pct = (cpu) =>
  Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}%`)
    .join(', ');

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  const rows = [];
  const details = [];
  const dbName = `ciba_bench_${randomBytes(6).toString('hex')}`;

  // 1. Preconditions, database, migrations, bootstrap.
  await checkPort(5432, 'PostgreSQL');
  await checkPort(4222, 'NATS');
  ensureBuild();

  // Five services with a pool of 20 each can open 100 connections, PostgreSQL's default
  // max_connections: leave room for the bench's own connections and anything else on the server.
  {
    const c = new pg.Client({ connectionString: CONFIG.adminUrl });
    await c.connect();
    const { rows: mc } = await c.query("SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved");
    await c.end();
    const fit = Math.floor((mc[0].max - mc[0].reserved - 10) / SERVICES.length);
    if (fit < CONFIG.poolSize) {
      log(`max_connections ${mc[0].max}: CIBA_DATABASE_POOL_SIZE ${fit} instead of ${CONFIG.poolSize} so that ${SERVICES.length} services fit`);
      CONFIG.poolSize = Math.max(2, fit);
    }
  }
  const dbUrl = await createDatabase(CONFIG.adminUrl, dbName);
  cleanups.push(['drop database', () => dropDatabase(CONFIG.adminUrl, dbName)]);
  log(`database ${dbName} created`);

  const tmp = await mkdtemp(join(os.tmpdir(), 'ciba-bench-'));
  cleanups.push(['temp dir', () => rm(tmp, { recursive: true, force: true })]);
  const users = Array.from({ length: CONFIG.users }, (_, i) => `user${i}`);

  // The load generator (worker thread) also hosts the clients' notification endpoint (receiver).
  const tls = selfSignedCertificate(tmp);
  const driver = startDriver();
  cleanups.push(['driver', () => driver.terminate()]);
  const receiver = await driver.call('startReceiver', tls ?? {});
  cleanups.push(['receiver', () => driver.call('stopReceiver')]);
  log(`client notification receiver on ${receiver.httpOrigin}${receiver.httpsOrigin ? ` and ${receiver.httpsOrigin}` : ''}`);
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
  const bootstrapFile = join(tmp, 'bootstrap.json');
  await writeFile(
    bootstrapFile,
    JSON.stringify({
      clients: [
        {
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          client_name: 'Benchmark client',
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['urn:openid:params:grant-type:ciba', 'refresh_token'],
          scope: 'openid profile email offline_access',
          backchannel_token_delivery_mode: 'poll',
        },
        callbackClient(PING_CLIENT, 'ping'),
        callbackClient(PUSH_CLIENT, 'push'),
      ],
      users: users.map((sub) => ({ sub, name: `Bench ${sub}`, email: `${sub}@bench.example` })),
    }),
  );

  const device = await startDevice();
  cleanups.push(['device', () => device.close()]);

  const ports = {};
  for (const name of SERVICES) ports[name] = await freePort();
  const env = {
    CIBA_DATABASE_URL: dbUrl,
    CIBA_DATABASE_POOL_SIZE: String(CONFIG.poolSize),
    CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CIBA_ISSUER: `http://127.0.0.1:${ports.authorize}`,
    CIBA_TOKEN_URL: `http://127.0.0.1:${ports.token}`,
    CIBA_NOTIFIER_URL: `http://127.0.0.1:${ports.notifier}`,
    CIBA_NATS_SERVERS: CONFIG.nats,
    CIBA_AUTH_CHANNEL_URI: device.url,
    // The load is many requests for one user from one client: no prompt limits.
    CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0',
    CIBA_CLIENT_NOTIFICATION_LIMIT: '0',
    CIBA_DENIAL_BACKOFF_THRESHOLD: '0',
    CIBA_POLL_INTERVAL: String(CONFIG.pollInterval),
    CIBA_LOG_LEVEL: 'warn',
    CIBA_BUS_PREFIX: BUS_PREFIX,
    // The receiver is http://127.0.0.1 (registration in the admin CLI and delivery in the dispatcher).
    CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: 'true',
  };
  log('migrate:', (await admin(repoRoot, ['migrate'], env)).trim().split('\n').pop());
  log('bootstrap:', (await admin(repoRoot, ['bootstrap', '--file', bootstrapFile], env)).trim().split('\n').pop());

  // 2. Our services, each its own process (authorize first: it creates the signing key).
  // Each service reaches PostgreSQL through its own counting relay (exact round trips per service).
  const proxies = {};
  if (CONFIG.pgProxy) {
    const pgPort = Number(new URL(CONFIG.adminUrl).port || 5432);
    const pgHost = new URL(CONFIG.adminUrl).hostname;
    for (const name of SERVICES) {
      proxies[name] = await startPgProxy({ host: pgHost, port: pgPort });
      cleanups.push([`pg relay ${name}`, () => proxies[name].close()]);
    }
  }
  const serviceEnv = (name) => {
    if (!proxies[name]) return env;
    const url = new URL(dbUrl);
    url.hostname = '127.0.0.1';
    url.port = String(proxies[name].port);
    return { ...env, CIBA_DATABASE_URL: url.toString() };
  };
  const services = Object.fromEntries(SERVICES.map((name) => [name, new ServiceProcess(repoRoot, name, ports[name], serviceEnv(name))]));
  cleanups.push([
    'services',
    async () => {
      await Promise.all(Object.values(services).map((s) => s.stop()));
      const crashed = Object.values(services).filter((s) => s.child && s.child.exitCode !== 0 && s.child.exitCode !== null);
      for (const s of crashed) log(`${s.name} exited with ${s.child.exitCode}; last output:\n${s.output.slice(-2000)}`);
    },
  ]);
  await services.authorize.start();
  await Promise.all(SERVICES.filter((n) => n !== 'authorize').map((n) => services[n].start()));
  log(`services up: ${SERVICES.map((n) => `${n}:${ports[n]}`).join(' ')}`);

  const db = new pg.Client({ connectionString: CONFIG.adminUrl });
  await db.connect();
  cleanups.push(['stats connection', () => db.end()]);
  const nc = await natsConnect({ servers: CONFIG.nats });
  cleanups.push(['nats', () => nc.close()]);
  const jsm = await jetstreamManager(nc);
  const prefixed = await jsm.streams.info(BUS.lifecycle).then(() => true, () => false);
  if (prefixed) {
    cleanups.push([
      'bench streams',
      async () => {
        for (const stream of [BUS.lifecycle, BUS.deadLetter, BUS.pollKv]) await jsm.streams.delete(stream).catch(() => undefined);
      },
    ]);
  } else {
    BUS = busNames(null);
    log(`this build ignores CIBA_BUS_PREFIX: using the shared ${BUS.lifecycle} stream and consumers (do not run tests meanwhile)`);
  }

  // 3. The reference, in this process.
  let forwardReference = null;
  const reference = await startReference({
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    users,
    onDeviceTrigger: (n) => forwardReference?.(n),
    pingClient: tls
      ? { clientId: PING_CLIENT.id, clientSecret: PING_CLIENT.secret, notificationEndpoint: `${receiver.httpsOrigin}/ping`, ca: tls.cert }
      : undefined,
  });
  cleanups.push(['reference', () => reference.close()]);
  log(`reference (oidc-provider) on ${reference.url}`);

  const backlog = await consumerBacklog(jsm);
  if (backlog.total > 0) log(`JetStream consumers have a backlog from earlier runs: ${JSON.stringify(backlog.detail)}; waiting for it`);
  let expectedNotifications = 0;
  await settle(jsm, device, 0, 'start', 60_000);

  const pids = () => ({
    ...Object.fromEntries(SERVICES.map((n) => [n, services[n].pid])),
    'bench (driver+device+reference)': process.pid,
  });
  const roundTrips = () => Object.fromEntries(Object.entries(proxies).map(([name, p]) => [name, p.stats.roundTrips]));
  async function measured(fn, seconds) {
    const before = cpuSnapshot(pids());
    const rt0 = roundTrips();
    const t0 = performance.now();
    const result = await fn();
    const wall = (performance.now() - t0) / 1000;
    result.cpu = cpuPercent(before, cpuSnapshot(pids()), wall || seconds);
    const rt1 = roundTrips();
    result.roundTrips = Object.fromEntries(Object.keys(rt1).map((name) => [name, rt1[name] - rt0[name]]));
    return result;
  }
  /** "authorize 3.00, notifier 5.02, …" per unit of work, from the relays' counts. */
  const perUnit = (rt, units) =>
    Object.entries(rt ?? {})
      .map(([name, n]) => `${name} ${fmt(n / units, 2)}`)
      .join(', ');

  const targets = {
    ours: {
      authorize: `${services.authorize.url}/bc-authorize`,
      token: `${services.token.url}/token`,
      callback: `${services.notifier.url}/ext/ciba/auth/callback`,
    },
    reference: reference.endpoints,
  };
  const common = { clientId: CLIENT.id, secret: CLIENT.secret, users: CONFIG.users, connections: CONFIG.connections };

  // 4a. bc-authorize
  for (const impl of ['ours', 'reference']) {
    const tag = impl === 'ours' ? 'ba-o' : 'ba-r';
    const before = impl === 'ours' ? await streamCounts(jsm) : null;
    log(`bc-authorize / ${impl}: warm-up ${CONFIG.warmup} s, then ${CONFIG.duration} s`);
    const warm = await driver.call('authorize', { ...common, url: targets[impl].authorize, duration: CONFIG.warmup, tag: `${tag}w`, collect: impl === 'ours' });
    const r = await measured(() => driver.call('authorize', { ...common, url: targets[impl].authorize, duration: CONFIG.duration, tag, collect: impl === 'ours' }), CONFIG.duration);
    const notes = [];
    if (impl === 'ours') {
      const accepted = warm.accepted + r.accepted;
      expectedNotifications += accepted;
      const ids = [...warm.ids, ...r.ids];
      // No auth_req_id is stored: each is a MAC'd reference to its request's id, checked here as the token endpoint does.
      const authReqIds = new AuthReqIds(env.CIBA_KEY_ENCRYPTION_KEY);
      const requestIds = ids.map((id) => authReqIds.verify(id, CLIENT.id)).filter((id) => id !== null);
      const benchDb = new pg.Client({ connectionString: dbUrl });
      await benchDb.connect();
      let inDb = 0;
      try {
        for (let i = 0; i < requestIds.length; i += 5000) {
          const { rows: chunk } = await benchDb.query('SELECT count(*)::int AS n FROM auth_requests WHERE id = ANY($1::uuid[])', [requestIds.slice(i, i + 5000)]);
          inDb += chunk[0].n;
        }
      } finally {
        await benchDb.end();
      }
      const after = await streamCounts(jsm);
      const createdDelta = after.created - before.created;
      const durable = inDb === ids.length && createdDelta >= accepted;
      details.push(
        `**bc-authorize durability (ours)**: ${accepted} requests accepted (warm-up + measured); ${inDb}/${ids.length} returned auth_req_ids found in PostgreSQL; ` +
          `\`${BUS.created}\` messages in ${BUS.lifecycle} grew by ${createdDelta} (stream total +${after.messages - before.messages}) → ${durable ? 'OK' : 'MISMATCH'}.`,
      );
      notes.push(`durability ${durable ? 'OK' : 'MISMATCH'} (${inDb}/${ids.length} in PG, +${createdDelta} created events)`);
    }
    if (Object.keys(r.failures).length) notes.push(`answers: ${JSON.stringify(r.failures)}`);
    if (impl === 'ours' && CONFIG.pgProxy) {
      notes.push(`${fmt(r.roundTrips.authorize / r.total, 2)} PG round trips/request in authorize`);
      details.push(
        `bc-authorize / ours PostgreSQL round trips per accepted request, by service, counted at the wire during the measured window (notifier and audit work asynchronously, so theirs are approximate): ${perUnit(r.roundTrips, r.total)}`,
      );
    }
    details.push(`bc-authorize / ${impl} CPU (% of one core): ${pct(r.cpu)}`);
    rows.push({ scenario: 'bc-authorize', impl, rps: r.rps, p50: r.p50, p99: r.p99, non2xx: String(r.non2xx), errors: r.errors + r.timeouts, notes: notes.join('; ') });
    log(`bc-authorize / ${impl}: ${fmt(r.rps)} req/s p50 ${r.p50} ms p99 ${r.p99} ms non2xx ${r.non2xx} errors ${r.errors}`);
  }

  // 4b. pending polls
  for (const impl of ['ours', 'reference']) {
    const tag = impl === 'ours' ? 'pp-o' : 'pp-r';
    if (impl === 'ours') await settle(jsm, device, expectedNotifications, 'before pending polls');
    log(`pending poll / ${impl}: creating ${CONFIG.pending} pending requests`);
    const created = await driver.call('authorize', { ...common, url: targets[impl].authorize, amount: CONFIG.pending, tag, collect: true });
    const ids = created.ids;
    if (ids.length === 0) throw new Error(`pending poll / ${impl}: no request was accepted (${JSON.stringify(created.failures)})`);
    if (impl === 'ours') {
      expectedNotifications += created.accepted;
      await settle(jsm, device, expectedNotifications, 'pending requests notified');
    }
    // A first pass polls every request exactly once (ours: the first poll reads PostgreSQL and
    // fills the poll-state cache), then the warm-up, then the measured steady state.
    log(`pending poll / ${impl}: ${ids.length} pending; first poll of each, warm-up ${CONFIG.warmup} s, then ${CONFIG.duration} s`);
    const rtFirst0 = roundTrips();
    const first = await driver.call('poll', { ...common, url: targets[impl].token, ids, amount: ids.length });
    const rtFirst1 = roundTrips();
    details.push(
      `pending poll / ${impl} first pass (each request polled once): ${fmt(first.rps)} req/s, p50 ${first.p50} ms, p99 ${first.p99} ms, answers ${JSON.stringify(first.answers)}` +
        (impl === 'ours' && CONFIG.pgProxy ? `; PostgreSQL round trips per first poll (token service, at the wire): ${fmt((rtFirst1.token - rtFirst0.token) / first.total, 2)}` : ''),
    );
    await driver.call('poll', { ...common, url: targets[impl].token, ids, duration: CONFIG.warmup });
    let x0, t0, kv0, tables0, background0;
    if (impl === 'ours') {
      // Idle rate first (sweeper, audit, this connection), then the counters at the start line.
      const idleStart = await settledXacts(db, dbName);
      const i0 = performance.now();
      await sleep(3000);
      const idleEnd = await xacts(db, dbName);
      background0 = (idleEnd - idleStart) / ((performance.now() - i0) / 1000);
      x0 = idleEnd;
      tables0 = await tableCounters(dbUrl);
      kv0 = await kvWrites(jsm);
      t0 = performance.now();
    }
    const r = await measured(() => driver.call('poll', { ...common, url: targets[impl].token, ids, duration: CONFIG.duration }), CONFIG.duration);
    const notes = [`${r.pending} pending answers (400 authorization_pending/slow_down)`];
    if (impl === 'ours') {
      const kv1 = await kvWrites(jsm);
      const runS = (performance.now() - t0) / 1000;
      const x1 = await settledXacts(db, dbName, Math.max(5, background0 * 2));
      const tables1 = await tableCounters(dbUrl);
      const settleS = (performance.now() - t0) / 1000 - runS;
      const background = background0 * (runS + settleS);
      const perPoll = Math.max(0, x1 - x0 - background) / r.total;
      details.push(
        `PostgreSQL round trips per pending poll (ours) from pg_stat_database, cross-check only: ${fmt(perPoll, 3)} — ${x1 - x0} transactions committed in the bench database while ${r.total} polls ran ` +
          `(counters read once settled), minus ~${Math.round(background)} background (${fmt(background0)} /s measured idle just before); from pg_stat_database.xact_commit + xact_rollback ` +
          `(pg_stat_statements is not preloaded on this server). Each autocommit statement is one transaction, so this equals statements unless the token service wraps several in one transaction. ` +
          `Per poll, by table: ${tableDelta(tables0, tables1, r.total) || 'none'}.` +
          (kv0 !== null && kv1 !== null ? ` NATS KV poll-state writes during the run: ${kv1 - kv0} (${fmt((kv1 - kv0) / r.total, 3)} per poll).` : ''),
      );
      const wire = CONFIG.pgProxy ? r.roundTrips.token / r.total : null;
      if (wire !== null) {
        details.push(
          `**PostgreSQL round trips per pending poll, counted at the wire (ours, token service)**: ${fmt(wire, 3)} (${r.roundTrips.token} Query/Sync messages from the token service for ${r.total} polls). ` +
            `All services during the window: ${perUnit(r.roundTrips, r.total)} per poll.`,
        );
      }
      notes.push(`${wire !== null ? `${fmt(wire, 3)} PG round trips/poll at the wire (token); ` : ''}${fmt(perPoll, 3)} by pg_stat_database (lagging, cross-check only)`);
    }
    if (r.unexpected > 0) notes.push(`unexpected answers: ${JSON.stringify(r.answers)}`);
    details.push(`pending poll / ${impl} answers: ${JSON.stringify(r.answers)}; CPU (% of one core): ${pct(r.cpu)}`);
    rows.push({
      scenario: 'pending poll',
      impl,
      rps: r.rps,
      p50: r.p50,
      p99: r.p99,
      non2xx: r.unexpected === 0 ? `${r.non2xx} (all pending)` : `${r.non2xx} (${r.unexpected} not pending)`,
      errors: r.errors + r.timeouts,
      notes: notes.join('; '),
    });
    log(`pending poll / ${impl}: ${fmt(r.rps)} req/s p50 ${r.p50} ms p99 ${r.p99} ms; ${r.pending}/${r.total} pending answers`);
  }

  // 4c. full flows
  for (const impl of ['ours', 'reference']) {
    if (impl === 'ours') await settle(jsm, device, expectedNotifications, 'before flows');
    driver.resetNotifications();
    if (impl === 'ours') device.onNotification = (n) => driver.notify(n);
    else forwardReference = (n) => driver.notify(n);
    const args = { ...common, endpoints: targets[impl], concurrency: CONFIG.connections };
    log(`full flow / ${impl}: ${CONFIG.connections} concurrent flows, warm-up ${CONFIG.warmup} s, then ${CONFIG.duration} s`);
    await driver.call('flow', { ...args, duration: CONFIG.warmup, tag: `fw-${impl[0]}` });
    const r = await measured(() => driver.call('flow', { ...args, duration: CONFIG.duration, tag: `fl-${impl[0]}` }), CONFIG.duration);
    device.onNotification = null;
    forwardReference = null;
    const notes = [`${r.completed} flows; bc-authorize→device notification p50 ${fmt(r.notifyP50)} / p99 ${fmt(r.notifyP99)} ms`];
    if (r.failed) notes.push(`${r.failed} failed: ${JSON.stringify(r.failures)}`);
    if (r.extraPolls) notes.push(`${r.extraPolls} extra token polls`);
    if (impl === 'ours' && CONFIG.pgProxy && r.completed) {
      const total = Object.values(r.roundTrips).reduce((a, b) => a + b, 0);
      notes.push(`${fmt(total / r.completed, 1)} PG round trips/flow`);
      details.push(`full flow / ours PostgreSQL round trips per completed flow, by service (approximate: window-based): ${perUnit(r.roundTrips, r.completed)}`);
    }
    details.push(`full flow / ${impl} CPU (% of one core): ${pct(r.cpu)}`);
    rows.push({ scenario: 'full flow (flows/s)', impl, rps: r.flowsPerS, p50: r.p50, p99: r.p99, non2xx: String(r.failed), errors: 0, notes: notes.join('; ') });
    log(`full flow / ${impl}: ${r.completed} flows, ${fmt(r.flowsPerS)} flows/s, p50 ${r.p50} ms p99 ${r.p99} ms, notify p50 ${r.notifyP50} ms, failed ${r.failed}`);
  }

  // 4d. ping and push flows: from the device's approval to the client holding tokens
  for (const { mode, impl } of [
    { mode: 'ping', impl: 'ours' },
    { mode: 'ping', impl: 'reference' },
    { mode: 'push', impl: 'ours' },
    { mode: 'push', impl: 'reference' },
  ]) {
    const scenario = `${mode} flow (approval→tokens)`;
    if (impl === 'reference' && (mode === 'push' || !tls)) {
      const why = mode === 'push' ? 'n/a: oidc-provider has no push mode' : 'skipped: no openssl for the HTTPS receiver';
      rows.push({ scenario, impl, na: true, non2xx: '–', errors: '–', notes: why });
      continue;
    }
    if (impl === 'ours') await settle(jsm, device, expectedNotifications, `before ${mode} flows`);
    driver.resetNotifications();
    if (impl === 'ours') device.onNotification = (n) => driver.notify(n);
    else forwardReference = (n) => driver.notify(n);
    const client = mode === 'ping' ? PING_CLIENT : PUSH_CLIENT;
    const args = { ...common, clientId: client.id, secret: client.secret, mode, endpoints: targets[impl], concurrency: CONFIG.connections };
    const tag = `${mode === 'ping' ? 'pg' : 'ps'}-${impl[0]}`;
    log(`${mode} flow / ${impl}: ${CONFIG.connections} concurrent flows, warm-up ${CONFIG.warmup} s, then ${CONFIG.duration} s`);
    await driver.call('callbackFlow', { ...args, duration: CONFIG.warmup, tag: `${tag}w` });
    const r = await measured(() => driver.call('callbackFlow', { ...args, duration: CONFIG.duration, tag }), CONFIG.duration);
    device.onNotification = null;
    forwardReference = null;
    const s = r.stats;
    const range = (x) => `p50 ${fmt(x.p50)} / p99 ${fmt(x.p99)} ms`;
    const notes = [
      `${r.completed} flows; whole flow ${range(s.whole)}`,
      `approval→${mode} at the receiver ${range(s.approvalToCallback)}` + (mode === 'ping' ? `, then token call ${range(s.tokenCall)}` : ''),
    ];
    if (impl === 'ours') {
      const met = r.p99 !== null && r.p99 <= CALLBACK_TARGET_P99_MS;
      notes.push(`target p99 ≤ ${CALLBACK_TARGET_P99_MS} ms ${met ? 'met' : '**not met**'}`);
    }
    if (r.failed) notes.push(`${r.failed} failed: ${JSON.stringify(r.failures)}`);
    if (r.extraPolls) notes.push(`${r.extraPolls} token calls answered pending after the ping`);
    if (impl === 'ours' && r.failed) {
      // What the services said about it (warn level and above), last lines only.
      for (const name of ['callback-dispatcher', 'notifier', 'token']) {
        const lines = services[name].output.split('\n').filter((l) => l.trim()).slice(-3);
        if (lines.length) details.push(`${mode} flow / ours: last output of ${name}: ${lines.map((l) => `\`${l.slice(0, 600)}\``).join(' ')}`);
      }
    }
    if (impl === 'ours' && CONFIG.pgProxy && r.completed) {
      const total = Object.values(r.roundTrips).reduce((a, b) => a + b, 0);
      notes.push(`${fmt(total / r.completed, 1)} PG round trips/flow`);
      details.push(`${mode} flow / ours PostgreSQL round trips per completed flow, by service (approximate: window-based): ${perUnit(r.roundTrips, r.completed)}`);
    }
    details.push(
      `${mode} flow / ${impl} timings (ms, p50 / p99 / max): approval → tokens ${s.approvalToTokens.p50} / ${s.approvalToTokens.p99} / ${s.approvalToTokens.max}; ` +
        `approval → ${mode} at the receiver ${s.approvalToCallback.p50} / ${s.approvalToCallback.p99} / ${s.approvalToCallback.max}; ` +
        (mode === 'ping' ? `ping → token response ${s.tokenCall.p50} / ${s.tokenCall.p99} / ${s.tokenCall.max}; ` : '') +
        `approval answered to the device ${s.approvalAnswer.p50} / ${s.approvalAnswer.p99} / ${s.approvalAnswer.max}; ` +
        `bc-authorize → device notification ${s.toNotification.p50} / ${s.toNotification.p99}; whole flow ${s.whole.p50} / ${s.whole.p99} / ${s.whole.max}; ` +
        `refresh tokens issued in ${r.refreshTokens}/${r.completed} flows`,
    );
    details.push(`${mode} flow / ${impl} CPU (% of one core): ${pct(r.cpu)}`);
    rows.push({ scenario, impl, rps: r.flowsPerS, p50: r.p50, p99: r.p99, non2xx: String(r.failed), errors: 0, notes: notes.join('; ') });
    log(`${mode} flow / ${impl}: ${r.completed} flows, ${fmt(r.flowsPerS)} flows/s, approval→tokens p50 ${r.p50} ms p99 ${r.p99} ms, whole flow p50 ${s.whole.p50} p99 ${s.whole.p99} ms, failed ${r.failed}`);
  }

  const rs = await driver.call('receiverStats');
  details.push(`client notification receiver: ${rs.received} callbacks received, ${rs.malformed} malformed`);
  if (reference.stats.serverErrors) details.push(`reference server errors: ${reference.stats.serverErrors} (last: ${reference.stats.lastServerError})`);

  // 5. Report.
  const cpu = os.cpus();
  const versions = {
    node: process.version,
    oidcProvider: (await import('oidc-provider/package.json', { with: { type: 'json' } }).catch(() => null))?.default?.version,
  };
  const header = [
    `# CIBA benchmark results`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}`,
    `- Node ${versions.node}; reference: oidc-provider ${versions.oidcProvider ?? '?'} (in-process, in-memory adapter)`,
    `- load: autocannon, ${CONFIG.connections} connections, ${CONFIG.duration} s measured after a ${CONFIG.warmup} s warm-up; ` +
      `ours: ${SERVICES.length} service processes (${SERVICES.join(', ')}), CIBA_DATABASE_POOL_SIZE=${CONFIG.poolSize}, CIBA_POLL_INTERVAL=${CONFIG.pollInterval}, CIBA_LOG_LEVEL=warn, ` +
      `${CONFIG.users} users, ${CONFIG.pending} pending requests in the poll scenario`,
    `- ping/push: client notification endpoint in the load generator's thread (http://127.0.0.1 for ours, CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK=true; ` +
      `https://127.0.0.1 with a self-signed certificate for the reference); target: approval → tokens p99 ≤ ${CALLBACK_TARGET_P99_MS} ms`,
    '',
  ];
  const table = [
    '| scenario | implementation | req/s (flows/s) | p50 ms | p99 ms | non-2xx (failed) | errors | notes |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) =>
      r.na
        ? `| ${r.scenario} | ${r.impl} | n/a | n/a | n/a | ${r.non2xx} | ${r.errors} | ${r.notes} |`
        : `| ${r.scenario} | ${r.impl} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.non2xx} | ${r.errors} | ${r.notes} |`,
    ),
  ];
  const runtime = `Total benchmark runtime: ${((Date.now() - startedAt) / 1000).toFixed(0)} s.`;
  const markdown = [...header, ...table, '', '## Details', '', ...details.map((d) => `- ${d}`), '', runtime, ''].join('\n');
  console.log(table.join('\n'));
  console.log('');
  for (const d of details) console.log(`- ${d}`);
  console.log(runtime);
  await writeFile(join(benchDir, 'results.md'), markdown);
  log('wrote bench/results.md');
}

try {
  await main();
} catch (error) {
  log(`FAILED: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
