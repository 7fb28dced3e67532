import { type User, NOTIFICATION_CHANNELS } from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { oneOf } from '../mapping.js';
import { hydrate } from '../sql.js';
import { UserEntity } from './user.entity.js';

const USER_COLUMN_NAMES = ['sub', 'name', 'email', 'email_verified', 'phone_number', 'phone_number_verified', 'channel_preference', 'username'] as const;

/**
 * A user's columns for a select list beside another table's `*` (the two share some names):
 * `u.sub AS user_sub, …`, with the users table aliased `u`. Read back with `userFromColumns`.
 */
export const USER_COLUMNS = USER_COLUMN_NAMES.map((column) => `u.${column} AS user_${column}`).join(', ');

/** The user selected with `USER_COLUMNS`; null when the join found none. */
export function userFromColumns(dataSource: DataSource, row: ObjectLiteral): User | null {
  if (row['user_sub'] === null || row['user_sub'] === undefined) return null;
  const columns: ObjectLiteral = {};
  for (const column of USER_COLUMN_NAMES) columns[column] = row[`user_${column}`] as unknown;
  return toUser(hydrate(dataSource, UserEntity, columns));
}

export function toUser(entity: UserEntity): User {
  return {
    sub: entity.sub,
    name: entity.name,
    email: entity.email,
    emailVerified: entity.emailVerified,
    phoneNumber: entity.phoneNumber,
    phoneNumberVerified: entity.phoneNumberVerified,
    channelPreference: entity.channelPreference === null ? null : entity.channelPreference.map((c) => oneOf(c, NOTIFICATION_CHANNELS, 'users.channel_preference')),
    // Present only when set: a user without one reads back exactly as written.
    ...(entity.username === null || entity.username === undefined ? {} : { preferredUsername: entity.username }),
  };
}

/**
 * The separator class of the domain's `normalisePhoneNumber` in POSIX regex syntax, for
 * `regexp_replace` in SQL: the expression of the `ix_users_phone_number_normalised` index.
 */
export const PHONE_SEPARATORS_SQL = '[[:space:]().-]';
