import { type User, type UserHint, type UserRepository, normalisePhoneNumber } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { UserEntity } from './user.entity.js';
import { PHONE_SEPARATORS_SQL, toUser } from './user.mapper.js';

/**
 * The SQL selecting the `sub` (one row, or none) of the user a hint identifies, and its parameters
 * numbered from `first`. login_hint (CIBA §7.1): the `sub` exactly, else the email case-insensitively,
 * else the phone number with separators ignored; an email or phone number shared by several users
 * identifies nobody (no row rather than a guess). One statement, whichever form matches.
 */
export function userHintSql(hint: UserHint, first: number): { sql: string; parameters: unknown[] } | null {
  if ('sub' in hint) return { sql: `SELECT sub FROM users WHERE sub = $${first}`, parameters: [hint.sub] };
  const trimmed = hint.loginHint.trim();
  if (trimmed === '') return null;
  const [h, p] = [`$${first}::text`, `$${first + 1}::text`];
  return {
    sql: `WITH candidates AS MATERIALIZED (
            SELECT sub, 1 AS rank FROM users WHERE sub = ${h}
            UNION ALL SELECT sub, 2 FROM users WHERE lower(email) = lower(${h})
            UNION ALL SELECT sub, 3 FROM users WHERE ${p} <> '' AND regexp_replace(phone_number, '${PHONE_SEPARATORS_SQL}', '', 'g') = ${p}
          )
          SELECT min(sub) AS sub FROM candidates WHERE rank = (SELECT min(rank) FROM candidates) HAVING count(*) = 1`,
    parameters: [trimmed, normalisePhoneNumber(trimmed)],
  };
}

export class TypeOrmUserRepository implements UserRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findBySub(sub: string): Promise<User | null> {
    const rows = await queryRows(this.dataSource, 'SELECT * FROM users WHERE sub = $1', [sub]);
    return rows.length === 0 ? null : toUser(hydrate(this.dataSource, UserEntity, rows[0]));
  }

  /**
   * login_hint (CIBA §7.1): the `sub` exactly, else the email case-insensitively, else the phone
   * number with separators ignored. An email or phone number shared by several users identifies
   * nobody: null rather than a guess.
   */
  async findByLoginHint(hint: string): Promise<User | null> {
    const match = userHintSql({ loginHint: hint }, 1);
    if (!match) return null;
    const rows = await queryRows(this.dataSource, `SELECT * FROM users WHERE sub = (${match.sql})`, match.parameters);
    return rows.length === 0 ? null : toUser(hydrate(this.dataSource, UserEntity, rows[0]));
  }

  /** Inserts or replaces a user (seeding, admin tool). */
  async upsert(user: User): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO users (sub, name, email, email_verified, phone_number, phone_number_verified, channel_preference)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (sub) DO UPDATE SET
         name = EXCLUDED.name,
         email = EXCLUDED.email,
         email_verified = EXCLUDED.email_verified,
         phone_number = EXCLUDED.phone_number,
         phone_number_verified = EXCLUDED.phone_number_verified,
         channel_preference = EXCLUDED.channel_preference,
         updated_at = now()`,
      [user.sub, user.name, user.email, user.emailVerified, user.phoneNumber, user.phoneNumberVerified, user.channelPreference === null ? null : [...user.channelPreference]],
    );
  }

}
