import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/** The SQL statements (round trips) one piece of work sent to PostgreSQL, by whom. */
export interface Statements {
  /** The work's own: what the budget counts. */
  readonly own: readonly string[];
  /** The in-process bus's work table (`queued_messages`): JetStream, not PostgreSQL, in the distributed services. */
  readonly bus: readonly string[];
  /** Deferred request markers (`notified_at`, `outcome_published_at` of many requests in one statement). */
  readonly markers: readonly string[];
}

const current = new AsyncLocalStorage<string[]>();
let installed = false;

/**
 * Runs `work` and returns the statements it sent, and only those: every pg client query is
 * recorded in the async context that issued it, so the bus's polling, the sweeper and the
 * provider's other work running meanwhile are not counted. A statement is one round trip
 * (node-postgres sends each parameterised query as Parse/Bind/Execute/Sync).
 */
export async function statementsOf(work: () => Promise<unknown>): Promise<Statements> {
  install();
  const log: string[] = [];
  await current.run(log, work);
  const all = [...log];
  const isBus = (sql: string) => sql.includes('queued_messages');
  const isMarker = (sql: string) => /SET notified_at = COALESCE\(a\.notified_at/.test(sql);
  return { own: all.filter((sql) => !isBus(sql) && !isMarker(sql)), bus: all.filter(isBus), markers: all.filter(isMarker) };
}

function install(): void {
  if (installed) return;
  installed = true;
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const log = current.getStore();
    if (log) log.push(typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string } | null)?.text ?? ''));
    return query.apply(this, args);
  };
}
