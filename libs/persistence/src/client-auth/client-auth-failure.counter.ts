import type { ClientAuthFailureCounter } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

/** Expired rows dropped per recorded failure: enough to keep up, never a long statement. */
const PURGE_BATCH = 100;

/**
 * Failed client authentications in fixed windows, one row per key and window, bumped by an atomic
 * upsert: concurrent failures on any replica are all counted. Expired rows are dropped as failures
 * are recorded (SKIP LOCKED: never waiting on another purge).
 */
export class PostgresClientAuthFailureCounter implements ClientAuthFailureCounter {
  constructor(private readonly dataSource: DataSource) {}

  async count(keys: readonly string[], windowStart: Date): Promise<Map<string, number>> {
    const rows = await queryRows<{ key_hash: string; failures: number }>(
      this.dataSource,
      `SELECT key_hash, failures FROM client_auth_failures WHERE window_start = $1 AND key_hash = ANY($2::text[])`,
      [windowStart, [...keys]],
    );
    return new Map(rows.map((row) => [row.key_hash, Number(row.failures)]));
  }

  /** Keys are bumped in the order given, so callers that pass them in a fixed order cannot deadlock. */
  async record(keys: readonly string[], windowStart: Date, expiresAt: Date): Promise<void> {
    if (keys.length === 0) return;
    await queryRows(
      this.dataSource,
      `WITH expired AS MATERIALIZED (
         SELECT key_hash, window_start FROM client_auth_failures WHERE expires_at <= $1 LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED
       ), purged AS (
         DELETE FROM client_auth_failures f USING expired e WHERE f.key_hash = e.key_hash AND f.window_start = e.window_start
       )
       INSERT INTO client_auth_failures (key_hash, window_start, failures, expires_at)
       SELECT key_hash, $1, 1, $2 FROM unnest($3::text[]) WITH ORDINALITY AS k(key_hash, position) ORDER BY position
       ON CONFLICT (key_hash, window_start) DO UPDATE SET failures = client_auth_failures.failures + 1`,
      [windowStart, expiresAt, [...keys]],
    );
  }
}
