// CPU time per process from /proc (Linux), to say where a scenario's CPU went. Returns {} elsewhere.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build
const TOTAL = '__busy';

function readStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return { comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

/**
 * A snapshot of CPU ticks: the named pids (our services, this process) and, summed by command
 * name, every `postgres` and `nats-server` process on the machine.
 */
export function cpuSnapshot(named) {
  const snapshot = {};
  try {
    // Machine-wide busy time (all cores): what is left after the tracked processes is "other".
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = f.map(Number);
    snapshot[TOTAL] = user + nice + system + irq + softirq + (steal || 0);
  } catch {
    // not Linux
  }
  for (const [label, pid] of Object.entries(named)) {
    if (!pid) continue;
    const stat = readStat(pid);
    if (stat) snapshot[label] = stat.ticks;
  }
  let entries = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return snapshot;
  }
  for (const pid of entries) {
    const stat = readStat(pid);
    if (!stat) continue;
    const group = stat.comm === 'postgres' ? 'postgres' : stat.comm === 'nats-server' ? 'nats-server' : null;
    if (group) snapshot[group] = (snapshot[group] ?? 0) + stat.ticks;
  }
  return snapshot;
}

/** CPU use between two snapshots, as a percentage of one core over `seconds`. */
export function cpuPercent(before, after, seconds) {
  const out = {};
  let tracked = 0;
  for (const [label, ticks] of Object.entries(after)) {
    if (label === TOTAL) continue;
    // Processes that exited in between (postgres backends) make a group shrink: clamp at 0.
    const delta = Math.max(0, ticks - (before[label] ?? 0));
    tracked += delta;
    out[label] = Math.round((delta / TICKS_PER_SECOND / seconds) * 100);
  }
  if (after[TOTAL] !== undefined && before[TOTAL] !== undefined) {
    // Anything else on the machine (other workloads, the kernel on their behalf).
    out.other = Math.max(0, Math.round(((after[TOTAL] - before[TOTAL] - tracked) / TICKS_PER_SECOND / seconds) * 100));
  }
  return out;
}
