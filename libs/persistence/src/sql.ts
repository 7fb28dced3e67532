import type { Pool } from 'pg';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';

/**
 * Runs one SQL statement and returns its rows, whatever the command (`UPDATE … RETURNING` included).
 * Inside a transaction it uses the transaction's connection; otherwise it goes straight to the
 * driver's pg pool: on the protocol hot paths a TypeORM query runner per statement costs more CPU
 * than the statement.
 */
export async function queryRows<R extends ObjectLiteral = ObjectLiteral>(
  executor: DataSource | EntityManager,
  sql: string,
  parameters: readonly unknown[] = [],
): Promise<R[]> {
  const manager = 'manager' in executor ? executor.manager : executor;
  const shared = manager.queryRunner;
  const pool = shared ? null : poolOf(manager.dataSource);
  if (pool) return (await pool.query<R>(sql, [...parameters])).rows;
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

function poolOf(dataSource: DataSource): Pool | null {
  const master = (dataSource.driver as { master?: Partial<Pool> }).master;
  return master && typeof master.query === 'function' ? (master as Pool) : null;
}
