import {
  type ApprovalNotification,
  type ChannelKind,
  type ConfiguredChannels,
  type DevicePushChannel,
  type DeviceTarget,
  type EmailChannel,
  type EnrolmentInvitation,
  type SendOutcome,
  type SmsChannel,
  devicePushPayload,
  renderEmail,
  renderEnrolmentEmail,
  renderEnrolmentSmsText,
  renderSmsText,
} from '@ciba/channels';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import type { DevInbox } from './dev-inbox.js';

export const DEV_INBOX_VENDOR = 'dev-inbox';

const SENT: SendOutcome = { kind: 'sent', providerMessageId: null };

// Each adapter renders with the real template of its kind, so what the inbox shows is what a user
// would receive. Rendering failures are `permanent`, as they are for the real adapters.

export class DevInboxEmailChannel implements EmailChannel {
  readonly kind = 'email';
  readonly vendor = DEV_INBOX_VENDOR;

  constructor(private readonly inbox: DevInbox) {}

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return capture(() => {
      const email = renderEmail(notification, { now: this.inbox.clock.now() });
      this.inbox.add({ channel: 'email', about: 'approval', to, subject: email.subject, text: email.text, html: email.html, links: [notification.approvalUrl] });
    });
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return capture(() => {
      const email = renderEnrolmentEmail(invitation, { now: this.inbox.clock.now() });
      this.inbox.add({ channel: 'email', about: 'enrolment', to, subject: email.subject, text: email.text, html: email.html, links: [invitation.enrolUrl] });
    });
  }
}

export class DevInboxSmsChannel implements SmsChannel {
  readonly kind = 'sms';
  readonly vendor = DEV_INBOX_VENDOR;

  constructor(private readonly inbox: DevInbox) {}

  send(to: string, notification: ApprovalNotification): Promise<SendOutcome> {
    return capture(() => {
      this.inbox.add({ channel: 'sms', about: 'approval', to, subject: null, text: renderSmsText(notification), html: null, links: [notification.approvalUrl] });
    });
  }

  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome> {
    return capture(() => {
      const text = renderEnrolmentSmsText(invitation, { now: this.inbox.clock.now() });
      this.inbox.add({ channel: 'sms', about: 'enrolment', to, subject: null, text, html: null, links: [invitation.enrolUrl] });
    });
  }
}

export class DevInboxDevicePushChannel implements DevicePushChannel {
  readonly kind = 'device-push';
  readonly vendor = DEV_INBOX_VENDOR;

  constructor(private readonly inbox: DevInbox) {}

  accepts(target: DeviceTarget): boolean {
    return target.kind === 'web-push' || target.kind === 'fcm';
  }

  send(target: DeviceTarget, notification: ApprovalNotification): Promise<SendOutcome> {
    return capture(() => {
      const payload = devicePushPayload(notification);
      this.inbox.add({ channel: 'device-push', about: 'approval', to: describeDevice(target), subject: payload.title, text: payload.body, html: null, links: [payload.url] });
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

function capture(store: () => void): Promise<SendOutcome> {
  try {
    store();
    return Promise.resolve(SENT);
  } catch {
    return Promise.resolve({ kind: 'permanent', reason: 'invalid_notification' });
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
