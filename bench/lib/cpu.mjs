// CPU time and memory per process from /proc (Linux), to say what each implementation costs.
// Returns empty figures elsewhere.
import { readFileSync, readdirSync } from 'node:fs';

const MS_PER_TICK = 10; // USER_HZ is 100 on every mainstream Linux build
const SERVER = 'postgres (server)';
const OTHER_DATABASES = 'postgres (other databases)';

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15, starttime field 22.
    return { comm, ticks: Number(fields[11]) + Number(fields[12]), start: fields[19] };
  } catch {
    return null;
  }
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/**
 * Which group a postgres process belongs to. A client backend's title is
 * "postgres: <user> <database> <host>(<port>) <state>": backends of a bench database count for
 * that database, the server's own processes (checkpointer, WAL writer, background writer,
 * autovacuum, the postmaster) for everyone, backends of other databases for nobody.
 */
function postgresGroup(pid, databases) {
  const title = cmdline(pid);
  const words = title.split(/\s+/);
  for (const db of databases) if (words.includes(db)) return `postgres:${db}`;
  if (/^postgres: \S+ \S+ (\S+\(\d+\)|\[local\])/.test(title)) return OTHER_DATABASES;
  return SERVER;
}

/**
 * CPU ticks per process: the `named` node processes ({label: pid}), every postgres process
 * (grouped as above, `databases` being the bench databases) and nats-server, and the machine's
 * busy time. Per pid, so that a backend opening or closing during a window counts correctly.
 */
export function cpuSnapshot(named, databases = []) {
  const pids = new Map();
  let busy = null;
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
    busy = user + nice + system + irq + softirq + (steal || 0);
  } catch {
    return { busy, pids };
  }
  const namedPids = new Map(Object.entries(named).filter(([, pid]) => pid).map(([label, pid]) => [String(pid), label]));
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return { busy, pids };
  }
  for (const pid of entries) {
    const label = namedPids.get(pid);
    const stat = readStat(pid);
    if (!stat) continue;
    let group = label ?? null;
    if (!group && stat.comm === 'postgres') group = postgresGroup(pid, databases);
    else if (!group && stat.comm === 'nats-server') group = 'nats-server';
    if (group) pids.set(`${pid}@${stat.start}`, { group, ticks: stat.ticks });
  }
  return { busy, pids };
}

/** CPU milliseconds per group between two snapshots, plus `other`: the machine's busy time no tracked process accounts for. */
export function cpuMs(before, after) {
  const out = {};
  let tracked = 0;
  for (const [key, { group, ticks }] of after.pids) {
    const delta = Math.max(0, ticks - (before.pids.get(key)?.ticks ?? 0));
    out[group] = (out[group] ?? 0) + delta * MS_PER_TICK;
    tracked += delta;
  }
  if (before.busy !== null && after.busy !== null) {
    // /proc/stat counts in the same USER_HZ ticks, summed over all cores.
    out.other = Math.max(0, (after.busy - before.busy - tracked) * MS_PER_TICK);
  }
  return out;
}

/** Resident set size now and at its peak (VmHWM), in MB; null when the process is gone. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}
