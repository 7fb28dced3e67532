// The details section of bench/results.md: what each measured window saw, one line per fact.
import os from 'node:os';
import { IMPLEMENTATION_LABELS } from './config.mjs';

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));
const TITLES = { 'bc-authorize': 'bc-authorize', 'pending-poll': 'pending poll', 'poll-flow': 'poll flow', ping: 'ping flow', push: 'push flow' };
const UNITS = { 'bc-authorize': 'request', 'pending-poll': 'poll', 'poll-flow': 'flow', ping: 'flow', push: 'flow' };

const perUnit = (counts, units, digits = 2) =>
  Object.entries(counts ?? {})
    .map(([name, n]) => `${name} ${fmt(n / units, digits)}`)
    .join(', ');

/** Lines for one measured window; `impl` is the implementation object, `rounds` the number of rounds. */
export function describe(r, impl, rounds) {
  const title = `${TITLES[r.scenario]} / ${IMPLEMENTATION_LABELS[r.impl]}${rounds > 1 ? ` (round ${r.round + 1})` : ''}`;
  if (r.na) return [`${title}: n/a (${r.na})`];
  const unit = UNITS[r.scenario];
  const lines = [];
  const rate = r.scenario === 'bc-authorize' || r.scenario === 'pending-poll' ? 'req/s' : 'flows/s';
  const latency = r.scenario === 'ping' || r.scenario === 'push' ? 'approval → tokens' : r.scenario === 'poll-flow' ? 'whole flow' : 'latency';
  lines.push(
    `**${title}**: ${fmt(r.rate)} ${rate} (${r.units} ${unit}s), ${latency} p50 ${fmt(r.p50)} / p99 ${fmt(r.p99)} ms` +
      (r.non2xx ? `, ${r.non2xx} non-2xx` : '') +
      (r.errors ? `, ${r.errors} errors` : '') +
      (r.failed ? `, ${r.failed} failed` : '') +
      (r.notes.length ? `; ${r.notes.join('; ')}` : ''),
  );
  if (r.durability) {
    const d = r.durability;
    lines.push(
      `${title} durability: ${d.accepted} requests accepted (warm-up + measured); ${d.inDb}/${d.ids} returned auth_req_ids found in PostgreSQL` +
        (d.createdEvents !== undefined ? `; auth_request.created events on JetStream grew by ${d.createdEvents}` : '') +
        ` → ${d.ok ? 'OK' : 'MISMATCH'}`,
    );
  }
  if (r.units && Object.keys(r.statements).length) {
    const sameTrips = Object.keys(r.statements).every((n) => r.statements[n] === r.roundTrips[n]);
    lines.push(
      `${title} PostgreSQL statements per ${unit} by process (window + drain): ${perUnit(r.statements, r.units)}` +
        (sameTrips ? ' (one round trip each)' : `; round trips: ${perUnit(r.roundTrips, r.units)}`),
    );
  }
  if (r.units) {
    const mine = new Set(impl.cpuGroups);
    const own = Object.entries(r.cpu)
      .filter(([g]) => mine.has(g))
      .sort((a, b) => b[1] - a[1])
      .map(([g, ms]) => `${g} ${fmt(ms / r.units, 3)}`);
    const bench = Object.entries(r.cpu).find(([g]) => g.startsWith('bench'))?.[1] ?? 0;
    const idle = Object.entries(r.cpu)
      .filter(([g]) => !mine.has(g) && g !== 'other' && !g.startsWith('bench'))
      .reduce((a, [, ms]) => a + ms, 0);
    lines.push(
      `${title} CPU ms per ${unit} (window + drain): ${own.join(', ')}; total ${fmt(r.cpuPerUnit, 3)}. ` +
        `Not counted: load generator, devices and relays ${fmt(bench / r.units, 3)}, idle others ${fmt(idle / r.units, 3)}, rest of the machine ${fmt((r.cpu.other ?? 0) / r.units, 3)}`,
    );
  }
  if (r.windowCpu && r.windowMs) {
    // A process near 100 is bound by its one thread; the machine near its cores × 100 is bound by the cores.
    const mine = new Set(impl.cpuGroups);
    const pct = (ms) => fmt((ms / r.windowMs) * 100, 0);
    const busy = Object.entries(r.windowCpu)
      .filter(([g]) => mine.has(g))
      .sort((a, b) => b[1] - a[1])
      .map(([g, ms]) => `${g} ${pct(ms)}`);
    const machine = Object.values(r.windowCpu).reduce((a, b) => a + b, 0);
    const bench = Object.entries(r.windowCpu).find(([g]) => g.startsWith('bench'))?.[1] ?? 0;
    lines.push(
      `${title} CPU during the measured window (${fmt(r.windowMs / 1000)} s), % of one core: ${busy.join(', ')}; ` +
        `load generator, devices and relays ${pct(bench)}; the whole machine ${pct(machine)} of ${os.cpus().length * 100}`,
    );
  }
  if (r.lag) {
    lines.push(
      (r.windowEndLag ? `${title} consumer lag as the load stopped: ${r.windowEndLag.total} ${JSON.stringify(r.windowEndLag.detail)}; ` : `${title} `) +
        `consumer lag after the drain: ${r.lag.total} ${JSON.stringify(r.lag.detail)}` +
        (r.settledAfterS !== undefined ? `; idle ${r.settledAfterS.toFixed(1)} s later (counted in CPU and statements)` : ''),
    );
  }
  if (r.first) {
    lines.push(
      `${title} first pass (each request polled once): ${fmt(r.first.rps)} req/s, p50 ${r.first.p50} / p99 ${r.first.p99} ms, answers ${JSON.stringify(r.first.answers)}` +
        (r.first.statements !== null ? `, ${fmt(r.first.statements, 2)} statements per first poll` : '') +
        `; steady state answers ${JSON.stringify(r.answers)}` +
        (r.kvWritesPerPoll !== undefined ? `; NATS KV poll-state writes per poll ${fmt(r.kvWritesPerPoll, 3)}` : ''),
    );
  }
  if (r.notify) lines.push(`${title} bc-authorize → device notification p50 ${fmt(r.notify.p50)} / p99 ${fmt(r.notify.p99)} ms`);
  if (r.timings) {
    const s = r.timings;
    const t = (x) => `${x.p50} / ${x.p99} / ${x.max}`;
    const mode = r.scenario;
    lines.push(
      `${title} timings (ms, p50 / p99 / max): approval → tokens ${t(s.approvalToTokens)}; approval → ${mode} at the receiver ${t(s.approvalToCallback)}; ` +
        (mode === 'ping' ? `ping → token response ${t(s.tokenCall)}; ` : '') +
        `approval answered to the device ${t(s.approvalAnswer)}; bc-authorize → device notification ${s.toNotification.p50} / ${s.toNotification.p99}; ` +
        `whole flow ${t(s.whole)}; refresh tokens issued in ${r.refreshTokens}/${r.units} flows`,
    );
  }
  return lines;
}

/** RSS per node process at rest and after load. */
export function describeMemory(rss) {
  const lines = [];
  for (const [when, snapshot] of [
    ['at rest', rss.rest],
    ['after load', rss.afterLoad],
  ]) {
    if (!snapshot) continue;
    const parts = Object.entries(snapshot).map(
      ([impl, byProcess]) =>
        `${IMPLEMENTATION_LABELS[impl]}: ${Object.entries(byProcess)
          .map(([name, m]) => (m ? `${name} ${fmt(m.rssMb, 0)} MB (peak ${fmt(m.peakMb, 0)})` : `${name} gone`))
          .join(', ')}`,
    );
    lines.push(`RSS ${when}: ${parts.join('; ')}`);
  }
  return lines;
}
