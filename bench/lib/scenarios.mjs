// The scenarios, each run against one implementation at a time:
//   bc-authorize, pending-poll, poll-flow, ping, push.
// Every one: wait until the implementation is idle (its consumers have nothing left), warm up,
// wait again, then the measured window, then the drain (BENCH_DRAIN s) and the consumer lag at its
// end. CPU time and PostgreSQL statements are counted from the start of the measured window to the
// end of the drain (or, when the drain left work pending, until the consumers are idle), so that
// the work the consumers do after answering (notifying the device, auditing, delivering callbacks)
// is counted with the requests it belongs to.
import pg from 'pg';
import { AuthReqIds } from '@ciba/tokens';
import { cpuMs, cpuSnapshot } from './cpu.mjs';
import { sleep } from './stack.mjs';

const SHORT = { 'ref-mem': 'rm', 'ref-pg': 'rp', aio: 'ai', services: 'sv', scaled: 'sx' };

export function createScenarios({ ctx, impls, driver }) {
  const { config, clients, log } = ctx;
  const databases = impls.map((i) => i.dbName).filter(Boolean);
  const named = () => Object.assign({ 'bench (load generator, devices, relays)': process.pid }, ...impls.map((i) => i.processes()));
  const counters = (impl) => Object.fromEntries(Object.entries(impl.relays).map(([name, p]) => [name, { ...p.stats }]));
  const common = (client) => ({ clientId: client.id, secret: client.secret, users: config.users, connections: config.connections });

  /** Until the implementation's consumers have nothing pending (bounded); returns the last lag read. */
  async function settle(impl, label, timeoutMs = 60_000) {
    let lag = await impl.lag();
    if (!lag || lag.total === 0) return lag;
    const started = Date.now();
    try {
      await waitUntilIdle(impl, timeoutMs);
      log(`${impl.key} ${label}: consumers idle after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch {
      lag = await impl.lag();
      log(`${impl.key} ${label}: consumers NOT idle after ${timeoutMs / 1000} s: ${JSON.stringify(lag.detail)}`);
    }
    return lag;
  }
  async function waitUntilIdle(impl, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ((await impl.lag()).total === 0) return;
      if (Date.now() > deadline) throw new Error('not idle');
      await sleep(200);
    }
  }

  /** The measured window plus the drain: CPU per process group, statements per relay, consumer lag. */
  async function windowed(impl, fn) {
    const c0 = counters(impl);
    const s0 = cpuSnapshot(named(), databases);
    const t0 = performance.now();
    const result = await fn();
    // CPU over the measured window alone (no drain): how busy each process and the machine were under the load.
    result.windowMs = performance.now() - t0;
    result.windowCpu = cpuMs(s0, cpuSnapshot(named(), databases));
    // What the consumers had not caught up with as the load stopped (the drain then finishes it).
    result.windowEndLag = await impl.lag();
    if (config.drainS > 0) await sleep(config.drainS * 1000);
    result.lag = await impl.lag();
    // What the drain left is still work the window caused: counted too, and the next window starts idle.
    if (result.lag?.total > 0) result.settledAfterS = await timed(() => settle(impl, 'after the drain'));
    const s1 = cpuSnapshot(named(), databases);
    const c1 = counters(impl);
    result.cpu = cpuMs(s0, s1);
    result.implCpuMs = impl.cpuGroups.reduce((sum, group) => sum + (result.cpu[group] ?? 0), 0);
    result.statements = Object.fromEntries(Object.keys(c1).map((n) => [n, c1[n].statements - c0[n].statements]));
    result.roundTrips = Object.fromEntries(Object.keys(c1).map((n) => [n, c1[n].roundTrips - c0[n].roundTrips]));
    return result;
  }

  function finish(impl, scenario, round, r, { rate, units, p50, p99 }) {
    return {
      scenario,
      impl: impl.key,
      round,
      rate,
      p50,
      p99,
      units,
      cpu: r.cpu,
      implCpuMs: r.implCpuMs,
      cpuPerUnit: units ? r.implCpuMs / units : null,
      windowMs: r.windowMs,
      windowCpu: r.windowCpu,
      windowEndLag: r.windowEndLag,
      statements: r.statements,
      roundTrips: r.roundTrips,
      statementsPerUnit: units && ctx.config.pgProxy && Object.keys(r.statements).length ? sum(r.statements) / units : null,
      lag: r.lag,
      settledAfterS: r.settledAfterS,
      notes: [],
    };
  }

  async function bcAuthorize(impl, round) {
    const tag = `ba${round}${SHORT[impl.key]}`;
    const ours = impl.key === 'aio' || impl.nats;
    const args = { ...common(clients.poll), url: impl.endpoints.authorize, collect: ours };
    await settle(impl, 'before bc-authorize');
    const before = impl.nats ? await createdEvents(impl) : null;
    const warm = await driver.call('authorize', { ...args, duration: config.warmup, tag: `${tag}w` });
    await settle(impl, 'after the warm-up');
    const r = await windowed(impl, () => driver.call('authorize', { ...args, duration: config.duration, tag }));
    const out = finish(impl, 'bc-authorize', round, r, { rate: r.rps, units: r.total, p50: r.p50, p99: r.p99 });
    out.non2xx = r.non2xx;
    out.errors = r.errors + r.timeouts;
    if (Object.keys(r.failures).length) out.notes.push(`answers: ${JSON.stringify(r.failures)}`);
    if (ours) out.durability = await durability(impl, [...warm.ids, ...r.ids], warm.accepted + r.accepted, before);
    return out;
  }

  async function pendingPoll(impl, round) {
    const tag = `pp${round}${SHORT[impl.key]}`;
    await settle(impl, 'before pending polls');
    const created = await driver.call('authorize', { ...common(clients.poll), url: impl.endpoints.authorize, amount: config.pending, tag, collect: true });
    const ids = created.ids;
    if (ids.length === 0) throw new Error(`pending poll / ${impl.key}: no request was accepted (${JSON.stringify(created.failures)})`);
    await settle(impl, 'pending requests notified');
    // A first pass polls every request once (ours: the first poll reads PostgreSQL and fills the
    // poll-state cache), then the warm-up, then the measured steady state.
    const args = { ...common(clients.poll), url: impl.endpoints.token, ids };
    const c0 = counters(impl);
    const first = await driver.call('poll', { ...args, amount: ids.length });
    const c1 = counters(impl);
    await driver.call('poll', { ...args, duration: config.warmup });
    await settle(impl, 'after the warm-up');
    const kv0 = impl.nats ? await kvWrites(impl) : null;
    const r = await windowed(impl, () => driver.call('poll', { ...args, duration: config.duration }));
    const out = finish(impl, 'pending-poll', round, r, { rate: r.rps, units: r.total, p50: r.p50, p99: r.p99 });
    out.non2xx = r.non2xx;
    out.errors = r.errors + r.timeouts;
    out.answers = r.answers;
    out.unexpected = r.unexpected;
    out.first = { rps: first.rps, p50: first.p50, p99: first.p99, answers: first.answers, statements: Object.keys(c1).length ? sum(diff(c1, c0, 'statements')) / first.total : null };
    if (kv0 !== null) out.kvWritesPerPoll = ((await kvWrites(impl)) - kv0) / r.total;
    return out;
  }

  async function pollFlow(impl, round) {
    await settle(impl, 'before poll flows');
    driver.resetNotifications();
    await impl.forward((n) => driver.notify(n));
    const args = { ...common(clients.poll), endpoints: impl.endpoints, concurrency: config.connections };
    const tag = `fl${round}${SHORT[impl.key]}`;
    try {
      await driver.call('flow', { ...args, duration: config.warmup, tag: `${tag}w` });
      await settle(impl, 'after the warm-up');
      const r = await windowed(impl, () => driver.call('flow', { ...args, duration: config.duration, tag }));
      const out = finish(impl, 'poll-flow', round, r, { rate: r.flowsPerS, units: r.completed, p50: r.p50, p99: r.p99 });
      out.failed = r.failed;
      out.notify = { p50: r.notifyP50, p99: r.notifyP99 };
      if (r.failed) out.notes.push(`${r.failed} failed: ${JSON.stringify(r.failures)}`);
      if (r.extraPolls) out.notes.push(`${r.extraPolls} extra token polls`);
      return out;
    } finally {
      await impl.forward(null);
    }
  }

  async function callbackFlow(impl, round, mode) {
    if (mode === 'push' && !impl.push) return { scenario: mode, impl: impl.key, round, na: 'oidc-provider has no push mode' };
    if (mode === 'ping' && !impl.ping) return { scenario: mode, impl: impl.key, round, na: 'no openssl for the HTTPS receiver' };
    await settle(impl, `before ${mode} flows`);
    driver.resetNotifications();
    await impl.forward((n) => driver.notify(n));
    const client = mode === 'ping' ? clients.ping : clients.push;
    const args = { ...common(client), mode, endpoints: impl.endpoints, concurrency: config.connections, approveAfterMs: config.approveAfterMs };
    const tag = `${mode === 'ping' ? 'pg' : 'ps'}${round}${SHORT[impl.key]}`;
    try {
      await driver.call('callbackFlow', { ...args, duration: config.warmup, tag: `${tag}w` });
      await settle(impl, 'after the warm-up');
      const r = await windowed(impl, () => driver.call('callbackFlow', { ...args, duration: config.duration, tag }));
      const out = finish(impl, mode, round, r, { rate: r.flowsPerS, units: r.completed, p50: r.p50, p99: r.p99 });
      out.failed = r.failed;
      out.timings = r.stats;
      out.refreshTokens = r.refreshTokens;
      if (r.failed) {
        out.notes.push(`${r.failed} failed: ${JSON.stringify(r.failures)}`);
        if (impl.nats) for (const name of ['callback-dispatcher', 'notifier', 'token']) out.notes.push(lastLines(`${name}`, impl.output(name)));
        else out.notes.push(lastLines(impl.key, impl.output()));
      }
      if (r.extraPolls) out.notes.push(`${r.extraPolls} token calls answered pending after the ping`);
      return out;
    } finally {
      await impl.forward(null);
    }
  }

  /** Every returned auth_req_id's request in PostgreSQL; for the services also the created events on JetStream. */
  async function durability(impl, ids, accepted, before) {
    // No auth_req_id is stored: each is a MAC'd reference to its request's id, checked here as the token endpoint does.
    const authReqIds = new AuthReqIds(impl.kek);
    const requestIds = ids.map((id) => authReqIds.verify(id, clients.poll.id)).filter((id) => id !== null);
    const db = new pg.Client({ connectionString: impl.dbUrl });
    await db.connect();
    let inDb = 0;
    try {
      for (let i = 0; i < requestIds.length; i += 5000) {
        const { rows } = await db.query('SELECT count(*)::int AS n FROM auth_requests WHERE id = ANY($1::uuid[])', [requestIds.slice(i, i + 5000)]);
        inDb += rows[0].n;
      }
    } finally {
      await db.end();
    }
    const result = { accepted, ids: ids.length, inDb, ok: inDb === ids.length && ids.length === accepted };
    if (before) {
      const after = await createdEvents(impl);
      result.createdEvents = after - before;
      result.ok &&= result.createdEvents >= accepted;
    }
    return result;
  }

  return {
    settle,
    'bc-authorize': bcAuthorize,
    'pending-poll': pendingPoll,
    'poll-flow': pollFlow,
    ping: (impl, round) => callbackFlow(impl, round, 'ping'),
    push: (impl, round) => callbackFlow(impl, round, 'push'),
  };
}

async function createdEvents(impl) {
  const info = await impl.jsm.streams.info(impl.bus.lifecycle, { subjects_filter: impl.bus.created });
  return info.state.subjects?.[impl.bus.created] ?? 0;
}

async function kvWrites(impl) {
  try {
    return (await impl.jsm.streams.info(impl.bus.pollKv)).state.last_seq;
  } catch {
    return null; // no poll-state bucket in this build
  }
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const diff = (after, before, field) => Object.fromEntries(Object.keys(after).map((n) => [n, after[n][field] - before[n][field]]));
const lastLines = (name, output) =>
  `last output of ${name}: ${output
    .split('\n')
    .filter((l) => l.trim())
    .slice(-3)
    .map((l) => `\`${l.slice(0, 600)}\``)
    .join(' ')}`;
