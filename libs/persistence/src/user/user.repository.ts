import { type User, type UserRepository, normalisePhoneNumber } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { UserEntity } from './user.entity.js';
import { PHONE_SEPARATORS_SQL, toUser } from './user.mapper.js';

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
    const trimmed = hint.trim();
    if (trimmed === '') return null;

    const bySub = await this.findBySub(trimmed);
    if (bySub) return bySub;

    const byEmail = await this.findUnique(`lower(email) = lower($1)`, trimmed);
    if (byEmail !== 'none') return byEmail;

    const phone = normalisePhoneNumber(trimmed);
    if (phone === '') return null;
    const byPhone = await this.findUnique(`regexp_replace(phone_number, '${PHONE_SEPARATORS_SQL}', '', 'g') = $1`, phone);
    return byPhone === 'none' ? null : byPhone;
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

  /** 'none' when nothing matches, null when more than one user does. */
  private async findUnique(condition: string, value: string): Promise<User | null | 'none'> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM users WHERE ${condition} ORDER BY sub LIMIT 2`, [value]);
    if (rows.length === 0) return 'none';
    if (rows.length > 1) return null;
    return toUser(hydrate(this.dataSource, UserEntity, rows[0]));
  }
}
