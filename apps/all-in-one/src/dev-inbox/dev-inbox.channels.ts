import {
  type ApprovalNotification,
  type ChannelKind,
  type ConfiguredChannels,
  type DeviceAnnouncement,
  type DevicePushChannel,
  type DeviceTarget,
  type EmailChannel,
  type EnrolmentInvitation,
  type RenderedEmail,
  type SendOutcome,
  type SmsChannel,
  devicePushPayload,
  renderDeviceAnnouncementEmail,
  renderDeviceAnnouncementSmsText,
  renderEmail,
  renderEnrolmentEmail,
  renderEnrolmentSmsText,
  renderSmsText,
} from '@ciba/channels';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import type { DevInbox, NewInboxMessage } from './dev-inbox.js';

export const DEV_INBOX_VENDOR = 'dev-inbox';

const SENT: SendOutcome = { kind: 'sent', providerMessageId: null };

/** What an adapter keeps of one message: all but the kind, which the adapter adds. */
type Kept = Omit<NewInboxMessage, 'channel'>;

/**
 * What every development-inbox adapter shares. Each renders with the real template of its kind, so
 * what the inbox shows is what a user would receive. Rendering failures are `permanent`, as they are
 * for the real adapters.
 */
abstract class DevInboxChannel<K extends ChannelKind> {
  abstract readonly kind: K;
  readonly vendor = DEV_INBOX_VENDOR;

  constructor(protected readonly inbox: DevInbox) {}

  /** Stores the message `render` makes: `sent`, or `permanent` when rendering fails (and nothing is kept). */
  protected keep(render: () => Kept): Promise<SendOutcome> {
    try {
      this.inbox.add({ channel: this.kind, ...render() });
      return Promise.resolve(SENT);
    } catch {
      return Promise.resolve({ kind: 'permanent', reason: 'invalid_notification' });
    }
  }

  protected now(): Date {
    return this.inbox.clock.now();
  }
}

/** The parts of a rendered email the inbox keeps. */
function emailParts({ subject, text, html }: RenderedEmail): Pick<Kept, 'subject' | 'text' | 'html'> {
  return { subject, text, html };
}

export class DevInboxEmailChannel extends DevInboxChannel<'email'> implements EmailChannel {
  readonly kind = 'email';

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'approval', to, ...emailParts(renderEmail(notification, { now: this.now() })), links: [notification.approvalUrl] }));
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'enrolment', to, ...emailParts(renderEnrolmentEmail(invitation, { now: this.now() })), links: [invitation.enrolUrl] }));
  }

  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'device-added', to, ...emailParts(renderDeviceAnnouncementEmail(announcement)), links: [announcement.removalUrl] }));
  }
}

export class DevInboxSmsChannel extends DevInboxChannel<'sms'> implements SmsChannel {
  readonly kind = 'sms';

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'approval', to, subject: null, text: renderSmsText(notification), html: null, links: [notification.approvalUrl] }));
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'enrolment', to, subject: null, text: renderEnrolmentSmsText(invitation, { now: this.now() }), html: null, links: [invitation.enrolUrl] }));
  }

  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome> {
    return this.keep(() => ({ about: 'device-added', to, subject: null, text: renderDeviceAnnouncementSmsText(announcement), html: null, links: [announcement.removalUrl] }));
  }
}

export class DevInboxDevicePushChannel extends DevInboxChannel<'device-push'> implements DevicePushChannel {
  readonly kind = 'device-push';

  accepts(target: DeviceTarget): boolean {
    return target.kind === 'web-push' || target.kind === 'fcm';
  }

  send(target: DeviceTarget, notification: ApprovalNotification): Promise<SendOutcome> {
    return this.keep(() => {
      const payload = devicePushPayload(notification);
      return { about: 'approval', to: describeDevice(target), subject: payload.title, text: payload.body, html: null, links: [payload.url] };
    });
  }
}

/** Names a device without showing its whole subscription or registration token. */
export function describeDevice(target: DeviceTarget): string {
  switch (target.kind) {
    case 'web-push': {
      let host = 'unknown push service';
      try {
        host = new URL(target.subscription.endpoint).host;
      } catch {
        // A malformed endpoint still names the kind.
      }
      return `web-push subscription at ${host}`;
    }
    case 'fcm':
      return `FCM registration …${target.registrationToken.slice(-6)}`;
  }
}

export interface AllInOneChannels {
  readonly channels: ConfiguredChannels;
  /** The kinds that go to the development inbox (no vendor configured for them). */
  readonly inboxKinds: readonly ChannelKind[];
}

/** Every kind to the development inbox. */
export function devInboxChannels(inbox: DevInbox): ConfiguredChannels {
  return { email: new DevInboxEmailChannel(inbox), sms: new DevInboxSmsChannel(inbox), devicePush: [new DevInboxDevicePushChannel(inbox)] };
}

/**
 * The all-in-one start's channels: a kind whose vendor variable is set (`CIBA_EMAIL_VENDOR`,
 * `CIBA_SMS_VENDOR`, `CIBA_DEVICE_PUSH_VENDORS`) uses the real adapter; every other kind goes to the
 * development inbox, so a fresh start reaches the demo users without any vendor account.
 */
export function allInOneChannels(env: Readonly<Record<string, string | undefined>>, inbox: DevInbox): AllInOneChannels {
  const configured = channelsFromEnvironment(env);
  const dev = devInboxChannels(inbox);
  const set = (variable: string) => Boolean(env[variable]);
  const email = set('CIBA_EMAIL_VENDOR') ? configured.email : dev.email;
  const sms = set('CIBA_SMS_VENDOR') ? configured.sms : dev.sms;
  const devicePush = set('CIBA_DEVICE_PUSH_VENDORS') ? configured.devicePush : dev.devicePush;
  const inboxKinds: ChannelKind[] = [];
  if (email === dev.email) inboxKinds.push('email');
  if (sms === dev.sms) inboxKinds.push('sms');
  if (devicePush === dev.devicePush) inboxKinds.push('device-push');
  return { channels: { email, sms, devicePush }, inboxKinds };
}
