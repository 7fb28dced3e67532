import { LOGIN_HINT_FORMS, type LoginHintForm, type User, type UserHint, type UserRepository, loginHintLookup } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { UserEntity } from './user.entity.js';
import { PHONE_SEPARATORS_SQL, toUser } from './user.mapper.js';

/** How each login_hint form compares a user's column with the hint (`$v`), each backed by an index. */
const FORM_PREDICATES: Record<LoginHintForm, (v: string) => string> = {
  sub: (v) => `sub = ${v}`,
  email: (v) => `lower(email) = lower(${v})`,
  phone: (v) => `regexp_replace(phone_number, '${PHONE_SEPARATORS_SQL}', '', 'g') = ${v}`,
  username: (v) => `lower(username) = lower(${v})`,
};

/**
 * The SQL selecting the `sub` (one row, or none) of the user a hint identifies, and its parameters
 * numbered from `first`. login_hint (CIBA §7.1): its form is decided from its syntax before any SQL
 * (`loginHintLookup`: a phone number, an email address, or a sub / username), and the statement
 * compares only the columns of that form. A hint matching several users (an email or phone number
 * shared, one user's sub another's username) identifies nobody: no row rather than a guess.
 */
export function userHintSql(hint: UserHint, first: number): { sql: string; parameters: unknown[] } | null {
  if ('sub' in hint) return { sql: `SELECT sub FROM users WHERE sub = $${first}`, parameters: [hint.sub] };
  const lookup = loginHintLookup(hint.loginHint, hint.forms ?? LOGIN_HINT_FORMS);
  if (!lookup.ok) return null;
  const v = `$${first}::text`;
  const candidates = lookup.forms.map((form) => `SELECT sub FROM users WHERE ${FORM_PREDICATES[form](v)}`).join(' UNION ');
  return { sql: `SELECT min(sub) AS sub FROM (${candidates}) AS candidates HAVING count(*) = 1`, parameters: [lookup.value] };
}

export class TypeOrmUserRepository implements UserRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findBySub(sub: string): Promise<User | null> {
    const rows = await queryRows(this.dataSource, 'SELECT * FROM users WHERE sub = $1', [sub]);
    return rows.length === 0 ? null : toUser(hydrate(this.dataSource, UserEntity, rows[0]));
  }

  /** login_hint (CIBA §7.1) in any form, as `userHintSql` reads it; null for nobody or several users. */
  async findByLoginHint(hint: string): Promise<User | null> {
    const match = userHintSql({ loginHint: hint }, 1);
    if (!match) return null;
    const rows = await queryRows(this.dataSource, `SELECT * FROM users WHERE sub = (${match.sql})`, match.parameters);
    return rows.length === 0 ? null : toUser(hydrate(this.dataSource, UserEntity, rows[0]));
  }

  /** Inserts or replaces a user (seeding, admin tool). */
  async upsert(user: User): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO users (sub, name, email, email_verified, phone_number, phone_number_verified, channel_preference, username)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (sub) DO UPDATE SET
         name = EXCLUDED.name,
         email = EXCLUDED.email,
         email_verified = EXCLUDED.email_verified,
         phone_number = EXCLUDED.phone_number,
         phone_number_verified = EXCLUDED.phone_number_verified,
         channel_preference = EXCLUDED.channel_preference,
         username = EXCLUDED.username,
         updated_at = now()`,
      [user.sub, user.name, user.email, user.emailVerified, user.phoneNumber, user.phoneNumberVerified, user.channelPreference === null ? null : [...user.channelPreference], user.preferredUsername ?? null],
    );
  }

}
