import type { ChannelKind, DevicePushChannel, EmailChannel, SmsChannel } from './channel.js';
import { FcmChannel } from './device-push/fcm/fcm.channel.js';
import { WebPushChannel } from './device-push/web-push/web-push.channel.js';
import { SmtpEmailChannel } from './email/smtp/smtp-email.channel.js';
import { SmppSmsChannel } from './sms/smpp/smpp-sms.channel.js';
import { TwilioSmsChannel } from './sms/twilio/twilio-sms.channel.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ChannelVendor<K extends ChannelKind, C> {
  readonly kind: K;
  readonly vendor: string;
  /** Builds the adapter from its `CIBA_*` variables, failing with the names of what is missing or wrong. */
  readonly fromEnv: (env: Env) => C;
}

/**
 * Every vendor adapter, one line each: adding a vendor is a folder under `email/`, `sms/` or
 * `device-push/` plus a line here.
 */
export const EMAIL_VENDORS: readonly ChannelVendor<'email', EmailChannel>[] = [{ kind: 'email', vendor: 'smtp', fromEnv: (env) => SmtpEmailChannel.fromEnv(env) }];

export const SMS_VENDORS: readonly ChannelVendor<'sms', SmsChannel>[] = [
  { kind: 'sms', vendor: 'twilio', fromEnv: (env) => TwilioSmsChannel.fromEnv(env) },
  { kind: 'sms', vendor: 'smpp', fromEnv: (env) => SmppSmsChannel.fromEnv(env) },
];

export const DEVICE_PUSH_VENDORS: readonly ChannelVendor<'device-push', DevicePushChannel>[] = [
  { kind: 'device-push', vendor: 'web-push', fromEnv: (env) => WebPushChannel.fromEnv(env) },
  { kind: 'device-push', vendor: 'fcm', fromEnv: (env) => FcmChannel.fromEnv(env) },
];

/** Every problem of the channel configuration, each naming a variable (never its value). */
export class ChannelConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`channel configuration is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ChannelConfigError';
  }
}

export interface ConfiguredChannels {
  readonly email: EmailChannel | null;
  readonly sms: SmsChannel | null;
  readonly devicePush: readonly DevicePushChannel[];
}

/**
 * The channels a deployment enables: `CIBA_EMAIL_VENDOR` (smtp), `CIBA_SMS_VENDOR` (twilio | smpp),
 * `CIBA_DEVICE_PUSH_VENDORS` (comma-separated: web-push, fcm). Unset means the kind is off. Every
 * problem across all of them is reported at once, at boot.
 */
export function channelsFromEnv(env: Env): ConfiguredChannels {
  const problems: string[] = [];
  const pick = <K extends ChannelKind, C>(variable: string, vendors: readonly ChannelVendor<K, C>[], name: string): C | null => {
    const vendor = vendors.find((v) => v.vendor === name);
    if (!vendor) {
      problems.push(`${variable}: unknown vendor "${name}" (expected ${vendors.map((v) => v.vendor).join(', ')})`);
      return null;
    }
    try {
      return vendor.fromEnv(env);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return null;
    }
  };
  const email = env['CIBA_EMAIL_VENDOR'] ? pick('CIBA_EMAIL_VENDOR', EMAIL_VENDORS, env['CIBA_EMAIL_VENDOR']) : null;
  const sms = env['CIBA_SMS_VENDOR'] ? pick('CIBA_SMS_VENDOR', SMS_VENDORS, env['CIBA_SMS_VENDOR']) : null;
  const devicePush = (env['CIBA_DEVICE_PUSH_VENDORS'] ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((name) => pick('CIBA_DEVICE_PUSH_VENDORS', DEVICE_PUSH_VENDORS, name))
    .filter((c): c is DevicePushChannel => c !== null);
  if (problems.length > 0) throw new ChannelConfigError(problems);
  return { email, sms, devicePush };
}
