/**
 * The ways the provider can reach a user, in the order a preference lists them: `device-push` (a
 * registered browser or app; not CIBA's push token delivery mode), `email`, `sms`, and `http` (an
 * external authentication device service, the Keycloak-compatible HTTP authentication channel).
 */
export const NOTIFICATION_CHANNELS = ['device-push', 'email', 'sms', 'http'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/**
 * A phone number without the separators people type (spaces, dashes, dots, parentheses): how a
 * login_hint is matched against stored numbers, and the E.164 form SMS gateways take
 * (`+1 555 555 0100` → `+15555550100`). The persistence index on phone numbers uses the same rule.
 */
export function normalisePhoneNumber(value: string): string {
  return value.replace(/[\s().-]/g, '');
}

/** An end-user, with OpenID Connect standard claim names. */
export interface User {
  readonly sub: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly phoneNumber: string | null;
  readonly phoneNumberVerified: boolean;
  /** The user's own ordered channel preference; null follows the deployment's default. */
  readonly channelPreference: readonly NotificationChannel[] | null;
  /** `preferred_username`, unique case-insensitively: a login_hint form (absent: none). */
  readonly preferredUsername?: string | null;
}

/**
 * Where a message about a request may go for this user, in order: the user's preference (or the
 * deployment's), keeping only channels the deployment has enabled and the user can be reached on.
 * Email and SMS go only to verified addresses and numbers: an unverified one could be anyone's.
 */
export function channelPlan(
  user: User,
  deploymentDefault: readonly NotificationChannel[],
  reachable: (channel: NotificationChannel) => boolean,
): NotificationChannel[] {
  const preference = user.channelPreference ?? deploymentDefault;
  const seen = new Set<NotificationChannel>();
  return preference.filter((channel) => {
    if (seen.has(channel)) return false;
    seen.add(channel);
    if (channel === 'email' && !(user.email && user.emailVerified)) return false;
    if (channel === 'sms' && !(user.phoneNumber && user.phoneNumberVerified)) return false;
    return reachable(channel);
  });
}
