import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Runs one SQL statement and returns its rows, whatever the command (`UPDATE … RETURNING` included).
 * Inside a transaction it uses the transaction's connection; otherwise it goes straight to the
 * driver's pg pool: on the protocol hot paths a TypeORM query runner per statement costs more CPU
 * than the statement. On the pool, statements are prepared (see `preparedName`): PostgreSQL parses
 * and plans each once per connection instead of at every call.
 */
export async function queryRows<R extends ObjectLiteral = ObjectLiteral>(
  executor: DataSource | EntityManager,
  sql: string,
  parameters: readonly unknown[] = [],
): Promise<R[]> {
  const manager = 'manager' in executor ? executor.manager : executor;
  const shared = manager.queryRunner;
  const pool = shared ? null : poolOf(manager.dataSource);
  if (pool) return runPrepared<R>(pool, sql, parameters);
  const runner = shared ?? manager.dataSource.createQueryRunner();
  try {
    const result = await runner.query(sql, [...parameters], true);
    return (result.records ?? []) as R[];
  } finally {
    if (!shared) await runner.release();
  }
}

/** Turns a raw row (database column names) into an entity (property names) using TypeORM's metadata. */
export function hydrate<E extends ObjectLiteral>(
  executor: DataSource | EntityManager,
  target: EntityTarget<E>,
  row: ObjectLiteral,
): E {
  const dataSource = 'manager' in executor ? executor : executor.dataSource;
  const entity: ObjectLiteral = {};
  for (const column of dataSource.getMetadata(target).columns) {
    if (column.databaseName in row) entity[column.propertyName] = row[column.databaseName] as unknown;
  }
  return entity as E;
}

/** At most this many distinct statements are prepared per process; any more run unnamed. */
const MAX_PREPARED = 500;
const preparedNames = new Map<string, string>();
let generation = 0;

/**
 * The name a statement is prepared under on every pooled connection: derived from its text, so the
 * same SQL is parsed once per connection. None past `MAX_PREPARED` distinct texts (SQL built with a
 * varying number of placeholders would otherwise fill every connection's statement cache).
 */
function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined) {
    if (preparedNames.size >= MAX_PREPARED) return undefined;
    name = `ciba_${generation}_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    preparedNames.set(sql, name);
  }
  return name;
}

async function runPrepared<R extends ObjectLiteral>(pool: Pool, sql: string, parameters: readonly unknown[]): Promise<R[]> {
  try {
    return (await pool.query<R>({ name: preparedName(sql), text: sql, values: [...parameters] })).rows;
  } catch (err) {
    if (!isStalePlan(err)) throw err;
    // A migration changed a table under prepared statements (a rolling upgrade): prepare everything
    // afresh under new names, and run this one again.
    generation++;
    preparedNames.clear();
    return (await pool.query<R>({ name: preparedName(sql), text: sql, values: [...parameters] })).rows;
  }
}

/** PostgreSQL refuses a prepared statement whose result columns a schema change altered. */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}

function poolOf(dataSource: DataSource): Pool | null {
  const master = (dataSource.driver as { master?: Partial<Pool> }).master;
  if (!master || typeof master.query !== 'function') return null;
  replanAsTablesGrow(master as Pool);
  return master as Pool;
}

/** A connection first drops its plans after this many uses, then after each doubling of its uses. */
const FIRST_REPLAN = 100;
/** … and at least once every this many uses. */
const MAX_REPLAN_INTERVAL = 100_000;
const replanningPools = new WeakSet<Pool>();
const connectionUses = new WeakMap<PoolClient, { uses: number; replanAt: number }>();

/**
 * PostgreSQL makes a prepared statement's generic plan once per connection, from the table sizes of
 * that moment, and keeps it until the table is next analyzed. A plan made while a table was empty
 * (a fresh deployment, the first seconds of a burst) scans the whole table long after it has grown:
 * a lookup by primary key through another index, a claim that sorts the whole queue. So each pooled
 * connection drops its plans (`DISCARD PLANS`; the statements stay prepared, the next executions are
 * planned against the tables as they are) after 100 uses, again after 200, 400, … and then every
 * 100 000: tables grow with the work done on them. Queued on the connection before the user's
 * statement, so it costs one round trip per replanning and no waiting.
 */
function replanAsTablesGrow(pool: Pool): void {
  if (replanningPools.has(pool)) return;
  replanningPools.add(pool);
  pool.on('acquire', (client) => {
    const state = connectionUses.get(client) ?? { uses: 0, replanAt: FIRST_REPLAN };
    state.uses++;
    if (state.uses >= state.replanAt) {
      state.replanAt = state.uses + Math.min(state.uses, MAX_REPLAN_INTERVAL);
      // A failure here is the connection's, and the statement queued behind it reports it.
      client.query('DISCARD PLANS').catch(() => undefined);
    }
    connectionUses.set(client, state);
  });
}

/** Connections of a data source's pool: open, idle, and callers waiting for one; null without a pg pool. */
export interface PoolUse {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
  readonly max: number;
}

export function poolUse(dataSource: DataSource): PoolUse | null {
  const master = (dataSource.driver as { master?: Partial<Pool> & { options?: { max?: number } } }).master;
  if (!master || typeof master.totalCount !== 'number') return null;
  return { total: master.totalCount, idle: master.idleCount ?? 0, waiting: master.waitingCount ?? 0, max: master.options?.max ?? 0 };
}
