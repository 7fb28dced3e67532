// The benchmark's knobs (environment variables) and the implementations and scenarios it knows.

const number = (name, fallback, { allowZero = false } = {}) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new Error(`${name}: expected a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`);
  return value;
};

const list = (name, known, fallback) => {
  const raw = process.env[name];
  if (!raw) return fallback;
  const values = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = values.filter((v) => !known.includes(v));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return values;
};

export const SERVICES = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher'];

/**
 * BENCH_REPLICAS, e.g. `notifier=2` or `authorize=2,token=2`: processes per service of the
 * "scaled" implementation (the five services again, with these replicas; 1 for a service not named).
 */
export function parseReplicas(raw) {
  if (!raw) return null;
  const replicas = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, count] = part.split('=');
    if (!SERVICES.includes(name)) throw new Error(`BENCH_REPLICAS: unknown service "${name}" (known: ${SERVICES.join(', ')})`);
    if (!/^[1-9]\d*$/.test(count ?? '')) throw new Error(`BENCH_REPLICAS: "${part}" is not <service>=<replicas ≥ 1>`);
    replicas[name] = Number(count);
  }
  return replicas;
}

const describeReplicas = (replicas) =>
  Object.entries(replicas ?? {})
    .filter(([, n]) => n > 1)
    .map(([name, n]) => `${n}× ${name}`)
    .join(', ') || 'one of each';

/** The implementations, in the order of the first round (later rounds alternate it); "scaled" only with BENCH_REPLICAS. */
export const IMPLEMENTATIONS = ['ref-mem', 'ref-pg', 'aio', 'services', 'scaled'];
const DEFAULT_IMPLEMENTATIONS = ['ref-mem', 'ref-pg', 'aio', 'services'];
export const IMPLEMENTATION_LABELS = {
  'ref-mem': 'reference, in memory',
  'ref-pg': 'reference, PostgreSQL',
  aio: 'ours, all-in-one',
  services: 'ours, 5 services',
  scaled: `ours, 5 services, ${describeReplicas(parseReplicas(process.env.BENCH_REPLICAS))}`,
};
export const SCENARIOS = ['bc-authorize', 'pending-poll', 'poll-flow', 'ping', 'push'];
/** The figures the issue asks for; poll-flow (bc-authorize → approval → token, no callback) on request, to keep a default run near 6 minutes. */
const DEFAULT_SCENARIOS = ['bc-authorize', 'pending-poll', 'ping', 'push'];

export function readConfig() {
  const replicas = parseReplicas(process.env.BENCH_REPLICAS);
  const implementations = list('BENCH_IMPLS', IMPLEMENTATIONS, replicas ? [...DEFAULT_IMPLEMENTATIONS, 'scaled'] : DEFAULT_IMPLEMENTATIONS);
  if (implementations.includes('scaled') && !replicas) throw new Error('BENCH_IMPLS: "scaled" needs BENCH_REPLICAS (e.g. notifier=2)');
  return {
    duration: number('BENCH_DURATION', 10),
    warmup: number('BENCH_WARMUP', 2),
    connections: number('BENCH_CONNECTIONS', 64),
    pending: number('BENCH_PENDING', 2000),
    users: number('BENCH_USERS', 1000),
    rounds: number('BENCH_ROUNDS', 1),
    /** The emulated device approves a ping or push request this long after its notification. */
    approveAfterMs: number('BENCH_APPROVE_AFTER_MS', 100, { allowZero: true }),
    /** Consumer lag is read this long after each measured window. */
    drainS: number('BENCH_DRAIN', 5, { allowZero: true }),
    /** Connections per process for the all-in-one and the reference on PostgreSQL; the services get the same unless five pools do not fit. */
    poolSize: number('BENCH_POOL_SIZE', 20),
    /**
     * Request lifetime for every implementation (ours: CIBA_DEFAULT_EXPIRES_IN; reference: ttl), long
     * enough that no request of the run expires during it: a wave of expiries from an earlier
     * scenario would otherwise land in a later scenario's measured window.
     */
    requestTtl: number('BENCH_REQUEST_TTL', 1800),
    pollInterval: 5,
    implementations,
    /** Processes per service of the "scaled" implementation ({ service: count }), or null. */
    replicas,
    scenarios: list('BENCH_SCENARIOS', SCENARIOS, DEFAULT_SCENARIOS),
    adminUrl: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    nats: process.env.BENCH_NATS ?? 'nats://127.0.0.1:4222',
    pgProxy: process.env.BENCH_PG_PROXY !== '0',
    /** Where the results go (default bench/results.md); a short development run can write elsewhere. */
    resultsFile: process.env.BENCH_RESULTS || null,
  };
}

/** Round r (0-based) runs the implementations in this order: forwards, then backwards, and so on. */
export function orderFor(round, implementations) {
  return round % 2 === 0 ? [...implementations] : [...implementations].reverse();
}
