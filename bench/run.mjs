#!/usr/bin/env node
// Benchmark: our CIBA OpenID Provider (the all-in-one on PostgreSQL, and the five services on
// PostgreSQL and NATS JetStream) against node-oidc-provider (in memory, and on PostgreSQL), in the
// same run on this machine over 127.0.0.1, one implementation at a time: bc-authorize, pending
// polls, poll flows, ping and push flows. Writes bench/results.md. See bench/README.md.
//
//   bash scripts/ensure-services.sh && npm run build && npm run bench
//
// Knobs: see lib/config.mjs and bench/README.md.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMPLEMENTATION_LABELS, orderFor, readConfig } from './lib/config.mjs';
import { cpuMs, cpuSnapshot, memory } from './lib/cpu.mjs';
import { describe, describeMemory } from './lib/details.mjs';
import { startAllInOne, startReferenceProcess, startServices } from './lib/implementations.mjs';
import { aggregate, renderResults } from './lib/report.mjs';
import { createScenarios } from './lib/scenarios.mjs';
import { checkPort, ensureBuild, gitCommit, poolSizes, selfSignedCertificate, startDriver, writeBootstrapFile } from './lib/setup.mjs';
import { sleep } from './lib/stack.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(benchDir, '..');
const config = readConfig();
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

/** RSS of every node process of every implementation: { impl: { process: { rssMb, peakMb } } }. */
function memorySnapshot(impls) {
  return Object.fromEntries(
    Object.values(impls).map((impl) => [impl.key, Object.fromEntries(Object.entries(impl.processes()).map(([name, pid]) => [name, memory(pid)]))]),
  );
}

// ---- main -----------------------------------------------------------------------------------------

async function main() {
  await checkPort(5432, 'PostgreSQL');
  if (config.implementations.some((i) => i === 'services' || i === 'scaled')) await checkPort(4222, 'NATS');
  ensureBuild(repoRoot, log);
  const pools = await poolSizes(config, log);

  const runId = randomBytes(4).toString('hex');
  const tmp = await mkdtemp(join(os.tmpdir(), 'ciba-bench-'));
  cleanups.push(['temp dir', () => rm(tmp, { recursive: true, force: true })]);
  const users = Array.from({ length: config.users }, (_, i) => `user${i}`);
  const clients = {
    poll: { id: 'bench-client', secret: `bench-secret-${randomBytes(12).toString('hex')}` },
    ping: { id: 'bench-ping', secret: `bench-ping-${randomBytes(12).toString('hex')}` },
    push: { id: 'bench-push', secret: `bench-push-${randomBytes(12).toString('hex')}` },
  };

  // The load generator (worker thread) also hosts the clients' notification endpoint (receiver).
  const tls = selfSignedCertificate(tmp, log);
  const driver = startDriver(benchDir);
  cleanups.push(['driver', () => driver.terminate()]);
  const receiver = await driver.call('startReceiver', tls ?? {});
  cleanups.push(['receiver', () => driver.call('stopReceiver')]);
  const bootstrapFile = join(tmp, 'bootstrap.json');
  await writeBootstrapFile(bootstrapFile, { clients, users, receiver });

  const ctx = { config, repoRoot, benchDir, tmp, runId, users, clients, bootstrapFile, receiver, tls, cleanups, log };
  const starters = {
    'ref-mem': () => startReferenceProcess(ctx, { database: false }),
    'ref-pg': () => startReferenceProcess(ctx, { database: true, poolSize: pools.single }),
    aio: () => startAllInOne(ctx, pools.single),
    services: () => startServices(ctx, pools.services),
    scaled: () => startServices(ctx, pools.services, { key: 'scaled', replicas: config.replicas }),
  };
  const impls = {};
  for (const key of config.implementations) {
    impls[key] = await starters[key]();
    log(`${IMPLEMENTATION_LABELS[key]} up: ${impls[key].endpoints.authorize}`);
  }
  const scenarios = createScenarios({ ctx, impls: Object.values(impls), driver });

  // At rest: after start and a short warm-up (every flow once over, pools and JIT warm), idle.
  for (const impl of Object.values(impls)) await warmUp(impl, driver, clients, config);
  for (const impl of Object.values(impls)) await scenarios.settle(impl, 'after the warm-up for RSS at rest');
  // The idle cost each implementation adds while another is measured (its timers, sweepers, pulls).
  const named = () => Object.assign({}, ...Object.values(impls).map((i) => i.processes()));
  const databases = Object.values(impls).map((i) => i.dbName).filter(Boolean);
  const idleS = 5;
  const idle0 = cpuSnapshot(named(), databases);
  await sleep(idleS * 1000);
  const idleCpu = cpuMs(idle0, cpuSnapshot(named(), databases));
  const rss = { rest: memorySnapshot(impls) };
  log(describeMemory(rss).join(' '));

  // The scenarios, each against one implementation at a time; later rounds alternate the order.
  const results = [];
  for (const scenario of config.scenarios) {
    for (let round = 0; round < config.rounds; round++) {
      for (const key of orderFor(round, config.implementations)) {
        log(`${scenario} / ${IMPLEMENTATION_LABELS[key]}${config.rounds > 1 ? ` (round ${round + 1})` : ''}`);
        const r = await scenarios[scenario](impls[key], round);
        results.push(r);
        log(
          r.na
            ? `  n/a: ${r.na}`
            : `  ${r.rate?.toFixed(1)}/s p50 ${r.p50} p99 ${r.p99} ms; ${r.units} units; CPU ${r.cpuPerUnit?.toFixed(2)} ms/unit; ` +
                `statements ${r.statementsPerUnit?.toFixed(2) ?? '–'}/unit; lag ${r.lag ? r.lag.total : 'n/a'}${r.notes.length ? `; ${r.notes.join('; ')}` : ''}`,
        );
      }
    }
  }
  rss.afterLoad = memorySnapshot(impls);

  // Report.
  const details = [];
  for (const r of results) details.push(...describe(r, impls[r.impl], config.rounds));
  details.push(...describeMemory(rss));
  details.push(
    `CPU at rest (${idleS} s idle after the warm-up, % of one core): ` +
      Object.entries(idleCpu)
        .filter(([group]) => group !== 'other')
        .sort((a, b) => b[1] - a[1])
        .map(([group, ms]) => `${group} ${(ms / idleS / 10).toFixed(1)}`)
        .join(', '),
  );
  const receiverStats = await driver.call('receiverStats');
  details.push(`client notification receiver: ${receiverStats.received} callbacks received, ${receiverStats.malformed} malformed`);
  for (const impl of Object.values(impls)) {
    const s = impl.stats ? (await impl.stats()).stats : null;
    if (s?.serverErrors) details.push(`${impl.label}: ${s.serverErrors} server errors (last: ${s.lastServerError?.slice(0, 600)})`);
  }
  const cpu = os.cpus();
  const oidcProvider = (await import('oidc-provider/package.json', { with: { type: 'json' } }).catch(() => null))?.default?.version ?? '?';
  const header = [
    '# CIBA benchmark results',
    '',
    `- date: ${new Date().toISOString()}; commit ${gitCommit(repoRoot)}`,
    `- machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}; oidc-provider ${oidcProvider}`,
    `- knobs: BENCH_DURATION=${config.duration} s measured after BENCH_WARMUP=${config.warmup} s, BENCH_CONNECTIONS=${config.connections} (connections, or concurrent flows), ` +
      `BENCH_ROUNDS=${config.rounds}, BENCH_APPROVE_AFTER_MS=${config.approveAfterMs} (ping and push: the device approves this long after its notification), ` +
      `BENCH_DRAIN=${config.drainS} s, BENCH_PENDING=${config.pending}, BENCH_USERS=${config.users}, BENCH_REQUEST_TTL=${config.requestTtl} s, ` +
      `pool ${pools.single} connections per single process, ${pools.services} per service process (max_connections ${pools.maxConnections}), counting relays ${config.pgProxy ? 'on' : 'off'}` +
      (config.replicas ? `, BENCH_REPLICAS=${process.env.BENCH_REPLICAS} ("${IMPLEMENTATION_LABELS.scaled}": the five services again on a database and bus of their own, the driver taking the replicas in turn)` : ''),
    `- every implementation runs for the whole run as its own processes (the reference too); only the one under test gets load, the others are idle ` +
      `(their CPU is listed as "idle others"). CPU ms and statements are counted over the measured window and the drain after it (until the consumers are idle, if the drain did not suffice); ` +
      `CPU is that of the implementation's node processes, its database's PostgreSQL backends and PostgreSQL's own processes, and nats-server for the services`,
    `- ours: CIBA_LOG_LEVEL=warn, CIBA_POLL_INTERVAL=${config.pollInterval}, prompt limits off; the all-in-one with CIBA_DEV_TOOLS=false and its in-process bus (no NATS); ` +
      `the reference: node-oidc-provider with CIBA poll and ping, pinging over HTTPS (it accepts no http endpoint)`,
  ];
  const runtimeS = Math.round((Date.now() - startedAt) / 1000);
  const { table, targets, markdown } = renderResults({ header, agg: aggregate(results), rss, impls: config.implementations, config, details, runtimeS });
  console.log(table);
  console.log('');
  console.log(targets);
  const resultsFile = config.resultsFile ?? join(benchDir, 'results.md');
  await writeFile(resultsFile, markdown);
  log(`wrote ${resultsFile}`);
}

/** A few of every flow at low concurrency, so that "at rest" means warm (pools open, code compiled), not fresh. */
async function warmUp(impl, driver, clients, cfg) {
  const common = { users: cfg.users, endpoints: impl.endpoints, concurrency: 4, duration: 1 };
  driver.resetNotifications();
  await impl.forward((n) => driver.notify(n));
  try {
    await driver.call('flow', { ...common, clientId: clients.poll.id, secret: clients.poll.secret, tag: `wu${impl.key}` });
    for (const mode of ['ping', 'push']) {
      if (!impl[mode]) continue;
      const c = clients[mode];
      await driver.call('callbackFlow', { ...common, mode, clientId: c.id, secret: c.secret, tag: `wu${mode}${impl.key}` });
    }
  } finally {
    await impl.forward(null);
  }
}

try {
  await main();
} catch (error) {
  log(`FAILED: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
