// bench/results.md: a header, one table (a row per figure, a column per implementation), the
// targets of the issue computed from it, then the details of every measured window.
import { IMPLEMENTATION_LABELS } from './config.mjs';

const fmt = (x, digits = 1) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits));
const median = (values) => {
  const v = values.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/** One figure per (scenario, implementation): the median over the rounds. */
export function aggregate(results) {
  const groups = new Map();
  for (const r of results) {
    const key = `${r.scenario}|${r.impl}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out = {};
  for (const [key, rs] of groups) {
    const [scenario, impl] = key.split('|');
    const pick = (f) => median(rs.map(f));
    out[scenario] ??= {};
    out[scenario][impl] = rs[0].na
      ? { na: rs[0].na }
      : {
          rate: pick((r) => r.rate),
          p50: pick((r) => r.p50),
          p99: pick((r) => r.p99),
          statementsPerUnit: pick((r) => r.statementsPerUnit),
          cpuPerUnit: pick((r) => r.cpuPerUnit),
          lag: Math.max(...rs.map((r) => r.lag?.total ?? 0)),
          hasLag: rs.some((r) => r.lag),
          failed: rs.reduce((a, r) => a + (r.failed ?? 0) + (r.errors ?? 0), 0),
          durable: rs.every((r) => !r.durability || r.durability.ok),
          rounds: rs.length,
        };
  }
  return out;
}

const UNITS = { 'bc-authorize': 'request', 'pending-poll': 'poll', 'poll-flow': 'flow', ping: 'flow', push: 'flow' };
const TITLES = { 'bc-authorize': 'bc-authorize', 'pending-poll': 'pending poll', 'poll-flow': 'poll flow', ping: 'ping flow', push: 'push flow' };

function tableRows(agg, rss, impls, config) {
  const rows = [];
  const cell = (scenario, impl, f) => {
    const a = agg[scenario]?.[impl];
    if (!a) return '';
    if (a.na) return 'n/a';
    return f(a);
  };
  const row = (label, scenario, f) => rows.push([label, ...impls.map((i) => cell(scenario, i, f))]);
  for (const scenario of config.scenarios) {
    const unit = UNITS[scenario];
    const title = TITLES[scenario];
    if (scenario === 'bc-authorize') {
      row('bc-authorize/s', scenario, (a) => fmt(a.rate, 0) + (a.durable ? '' : ' **(durability MISMATCH)**'));
      row('bc-authorize p50 / p99 ms', scenario, (a) => `${fmt(a.p50, 0)} / ${fmt(a.p99, 0)}`);
    } else if (scenario === 'pending-poll') {
      row('pending polls/s', scenario, (a) => fmt(a.rate, 0));
      row('pending poll p50 / p99 ms', scenario, (a) => `${fmt(a.p50, 0)} / ${fmt(a.p99, 0)}`);
    } else if (scenario === 'poll-flow') {
      row('poll flows/s', scenario, (a) => fmt(a.rate, 0));
      row('poll flow p50 / p99 ms (whole flow)', scenario, (a) => `${fmt(a.p50, 0)} / ${fmt(a.p99, 0)}`);
    } else {
      row(`${scenario} flows/s`, scenario, (a) => fmt(a.rate, 0) + (a.failed ? ` (${a.failed} failed)` : ''));
      row(`${scenario}: approval → tokens p50 / p99 ms`, scenario, (a) => `${fmt(a.p50, 0)} / ${fmt(a.p99, 0)}`);
    }
    row(`${title}: PostgreSQL statements per ${unit}`, scenario, (a) => fmt(a.statementsPerUnit, 2));
    row(`${title}: CPU ms per ${unit}`, scenario, (a) => fmt(a.cpuPerUnit, 2));
  }
  rows.push([
    `consumer lag after a ${config.drainS} s drain (worst window)`,
    ...impls.map((i) => {
      const windows = Object.values(agg).map((s) => s[i]).filter((a) => a && !a.na);
      return windows.some((a) => a.hasLag) ? String(Math.max(...windows.map((a) => a.lag))) : 'n/a';
    }),
  ]);
  const memoryCell = (snapshot, impl, field) => {
    const values = Object.values(snapshot?.[impl] ?? {}).filter(Boolean).map((m) => m[field]);
    if (values.length === 0) return '–';
    if (values.length === 1) return fmt(values[0], 0);
    return `max ${fmt(Math.max(...values), 0)}, sum ${fmt(values.reduce((a, b) => a + b, 0), 0)}`;
  };
  rows.push(['RSS at rest, MB (per node process)', ...impls.map((i) => memoryCell(rss.rest, i, 'rssMb'))]);
  rows.push(['RSS after load, MB', ...impls.map((i) => memoryCell(rss.afterLoad, i, 'rssMb'))]);
  rows.push(['RSS peak (VmHWM), MB', ...impls.map((i) => memoryCell(rss.afterLoad, i, 'peakMb'))]);
  return rows;
}

/** Each target of the issue: { text, value, met } (met null when a figure is missing). */
function targets(agg, rss) {
  const out = [];
  const get = (scenario, impl) => {
    const a = agg[scenario]?.[impl];
    return a && !a.na ? a : null;
  };
  const ratio = (text, scenario, ours, ref, factor) => {
    const a = get(scenario, ours);
    const b = get(scenario, ref);
    const r = a && b && b.rate ? a.rate / b.rate : null;
    out.push({ text, value: r === null ? 'not measured' : `${fmt(a.rate, 0)} / ${fmt(b.rate, 0)} = ${fmt(r, 2)}×`, met: r === null ? null : r >= factor });
  };
  const atMost = (text, value, limit, describe) => out.push({ text, value: value === null ? 'not measured' : describe, met: value === null ? null : value <= limit });
  const p99 = (scenario, impl) => get(scenario, impl)?.p99 ?? null;

  ratio('bc-authorize/s, all-in-one ≥ 1.5 × reference on PostgreSQL', 'bc-authorize', 'aio', 'ref-pg', 1.5);
  ratio('bc-authorize/s, all-in-one ≥ 1.0 × reference in memory', 'bc-authorize', 'aio', 'ref-mem', 1.0);
  const refPgP99 = p99('bc-authorize', 'ref-pg');
  const aioP99 = p99('bc-authorize', 'aio');
  atMost('bc-authorize p99, all-in-one ≤ reference on PostgreSQL', aioP99 === null || refPgP99 === null ? null : aioP99, refPgP99, `${fmt(aioP99, 0)} ms vs ${fmt(refPgP99, 0)} ms`);
  ratio('ping flows/s, all-in-one ≥ 1.5 × reference on PostgreSQL', 'ping', 'aio', 'ref-pg', 1.5);
  ratio('ping flows/s, services ≥ 1.5 × reference on PostgreSQL', 'ping', 'services', 'ref-pg', 1.5);
  const refPing = p99('ping', 'ref-pg');
  for (const [impl, name, limit] of [
    ['aio', 'all-in-one', 100],
    ['services', 'services', 150],
  ]) {
    for (const mode of ['ping', 'push']) {
      const v = p99(mode, impl);
      atMost(`${mode}: approval → tokens p99, ${name} ≤ ${limit} ms`, v, limit, `${fmt(v, 0)} ms`);
      const versus = mode === 'ping' ? 'reference on PostgreSQL' : "reference on PostgreSQL's ping (it has no push)";
      atMost(`${mode}: approval → tokens p99, ${name} ≤ ${versus}`, v === null || refPing === null ? null : v, refPing, `${fmt(v, 0)} ms vs ${fmt(refPing, 0)} ms`);
    }
  }
  ratio('pending polls/s, all-in-one ≥ reference in memory', 'pending-poll', 'aio', 'ref-mem', 1.0);
  ratio('pending polls/s, services ≥ reference in memory', 'pending-poll', 'services', 'ref-mem', 1.0);
  const aioRest = rss.rest?.aio?.['all-in-one']?.rssMb ?? null;
  atMost('RSS at rest, all-in-one ≤ 150 MB', aioRest, 150, `${fmt(aioRest, 0)} MB`);
  const serviceRest = Object.values(rss.rest?.services ?? {}).filter(Boolean).map((m) => m.rssMb);
  const maxService = serviceRest.length ? Math.max(...serviceRest) : null;
  atMost('RSS at rest, each separate service ≤ 100 MB', maxService, 100, `largest ${fmt(maxService, 0)} MB`);
  for (const [impl, name] of [
    ['aio', 'all-in-one'],
    ['services', 'services'],
  ]) {
    const windows = Object.values(agg).map((s) => s[impl]).filter((a) => a && !a.na && a.hasLag);
    const worst = windows.length ? Math.max(...windows.map((a) => a.lag)) : null;
    atMost(`consumer lag, ${name}: 0 pending after each drain`, worst, 0, `worst ${worst}`);
  }
  return out;
}

export function renderResults({ header, agg, rss, impls, config, details, runtimeS }) {
  const rows = tableRows(agg, rss, impls, config);
  const table = [
    `| figure | ${impls.map((i) => IMPLEMENTATION_LABELS[i]).join(' | ')} |`,
    `|---|${impls.map(() => '---:').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const targetLines = targets(agg, rss).map((t) => `- ${t.text}: ${t.met === null ? 'not measured' : `${t.value} → ${t.met ? 'met' : '**not met**'}`}`);
  return {
    table: table.join('\n'),
    targets: targetLines.join('\n'),
    markdown: [
      ...header,
      '',
      ...table,
      '',
      '## Targets',
      '',
      'Ratios and limits from the issue, computed from the table above (same run).',
      '',
      ...targetLines,
      '',
      '## Details',
      '',
      ...details.map((d) => `- ${d}`),
      '',
      `Total benchmark runtime: ${runtimeS} s.`,
      '',
    ].join('\n'),
  };
}
