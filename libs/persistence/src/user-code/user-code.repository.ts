import type { UserCodeAttempts, UserCodeHolder, UserCodeLimits, UserCodeStore, UserHint } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';
import { userHintSql } from '../user/user.repository.js';

/** Expired rows dropped per claim: enough to keep up, never a long statement. */
const PURGE_BATCH = 100;

/** CIBA §7.1 user codes: each user's code hash, kept beside the user, never the code itself. */
export class TypeOrmUserCodeStore implements UserCodeStore {
  constructor(private readonly dataSource: DataSource) {}

  /** The same resolution as bc-authorize's (`userHintSql`), in one statement. */
  async findHolder(hint: UserHint): Promise<UserCodeHolder | null> {
    const match = userHintSql(hint, 1);
    if (!match) return null;
    const rows = await queryRows<{ sub: string; user_code_hash: string | null }>(
      this.dataSource,
      `SELECT sub, user_code_hash FROM users WHERE sub = (${match.sql})`,
      match.parameters,
    );
    const row = rows[0];
    return row === undefined ? null : { sub: row.sub, userCodeHash: row.user_code_hash };
  }

  async setUserCodeHash(sub: string, userCodeHash: string | null): Promise<boolean> {
    const rows = await queryRows(this.dataSource, `UPDATE users SET user_code_hash = $2, updated_at = now() WHERE sub = $1 RETURNING sub`, [sub, userCodeHash]);
    return rows.length === 1;
  }
}

/**
 * User code verifications per key in a window, claimed by one atomic upsert before each
 * verification: concurrent guesses on any replica are all counted, and no more than the limit ever
 * run in a window. The claim over the limit locks the key; a lock ends by opening a fresh window.
 * Expired rows (other than the claimed one) are dropped as claims are made (SKIP LOCKED).
 */
export class PostgresUserCodeAttempts implements UserCodeAttempts {
  constructor(private readonly dataSource: DataSource) {}

  async claim(key: string, now: Date, limits: UserCodeLimits): Promise<boolean> {
    const rows = await queryRows<{ locked: boolean }>(
      this.dataSource,
      `WITH expired AS MATERIALIZED (
         SELECT key_hash FROM user_code_attempts WHERE window_ends_at <= $2 AND key_hash <> $1 LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED
       ), purged AS (
         DELETE FROM user_code_attempts a USING expired e WHERE a.key_hash = e.key_hash
       )
       INSERT INTO user_code_attempts AS a (key_hash, attempts, window_ends_at, locked_until)
       VALUES ($1, 1, $3, CASE WHEN $5::integer < 1 THEN $4::timestamptz END)
       ON CONFLICT (key_hash) DO UPDATE SET
         attempts = CASE WHEN a.locked_until > $2 THEN a.attempts WHEN a.window_ends_at <= $2 THEN 1 ELSE a.attempts + 1 END,
         locked_until = CASE WHEN a.locked_until > $2 THEN a.locked_until WHEN a.window_ends_at <= $2 THEN NULL
                             WHEN a.attempts + 1 > $5 THEN $4 ELSE NULL END,
         window_ends_at = CASE WHEN a.locked_until > $2 THEN a.window_ends_at WHEN a.window_ends_at <= $2 THEN $3
                               WHEN a.attempts + 1 > $5 THEN $4 ELSE a.window_ends_at END
       RETURNING (locked_until IS NOT NULL AND locked_until > $2) AS locked`,
      [key, now, new Date(now.getTime() + limits.windowMs), new Date(now.getTime() + limits.lockMs), limits.attemptLimit],
    );
    return rows[0]?.locked === false;
  }

  async release(key: string): Promise<void> {
    await queryRows(this.dataSource, `UPDATE user_code_attempts SET attempts = greatest(attempts - 1, 0) WHERE key_hash = $1`, [key]);
  }
}
