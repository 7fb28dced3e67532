import { type User, NOTIFICATION_CHANNELS } from '@ciba/domain';
import { oneOf } from '../mapping.js';
import type { UserEntity } from './user.entity.js';

export function toUser(entity: UserEntity): User {
  return {
    sub: entity.sub,
    name: entity.name,
    email: entity.email,
    emailVerified: entity.emailVerified,
    phoneNumber: entity.phoneNumber,
    phoneNumberVerified: entity.phoneNumberVerified,
    channelPreference: entity.channelPreference === null ? null : entity.channelPreference.map((c) => oneOf(c, NOTIFICATION_CHANNELS, 'users.channel_preference')),
  };
}

/**
 * The separator class of the domain's `normalisePhoneNumber` in POSIX regex syntax, for
 * `regexp_replace` in SQL: the expression of the `ix_users_phone_number_normalised` index.
 */
export const PHONE_SEPARATORS_SQL = '[[:space:]().-]';
