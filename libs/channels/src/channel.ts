/**
 * Reaching the user on a trusted device. Each channel kind is one small interface; each vendor is one
 * adapter folder (`email/smtp`, `sms/twilio`, `sms/smpp`, `device-push/web-push`, `device-push/fcm`)
 * plus one line in `registry.ts`. The name "device push" is deliberate: it is never CIBA's push
 * *token delivery mode*.
 */
export type ChannelKind = 'device-push' | 'email' | 'sms';

/** What every message about an authentication request says (CIBA §7.1 context for the user). */
export interface ApprovalNotification {
  /** Internal request id, for logs only. */
  readonly requestId: string;
  /** Who asks: the client's registered name. */
  readonly clientName: string;
  readonly bindingMessage: string | null;
  readonly scope: readonly string[];
  /** Rich authorization request details (RFC 9396), when the client sent them. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
  readonly expiresAt: Date;
  /** Single-use link to the approval page (never the auth_req_id). */
  readonly approvalUrl: string;
  /** The user's display name, when known. */
  readonly recipientName: string | null;
}

/**
 * A one-time link to register a device for device push, sent to the user's verified email address or
 * phone number. The link is a bearer credential until used: adapters never log it.
 */
export interface EnrolmentInvitation {
  /** Single-use link to the enrolment page. */
  readonly enrolUrl: string;
  readonly expiresAt: Date;
  /** The user's display name, when known. */
  readonly recipientName: string | null;
}

/**
 * A device was registered to receive the user's sign-in requests: told to the user on their other
 * channels, with a one-time link to remove it ("not you?"). Label and client name are client or
 * user controlled: templates escape and flatten them. The link is a credential until used.
 */
export interface DeviceAnnouncement {
  /** What the registrant named the device, if anything. */
  readonly deviceLabel: string | null;
  readonly deviceKind: 'web-push' | 'fcm';
  readonly registeredAt: Date;
  /** The client's registered name when a client registered it; null when the user's enrolment link did. */
  readonly clientName: string | null;
  /** Single-use link that shows the device and removes it on confirmation. */
  readonly removalUrl: string;
  /** The user's display name, when known. */
  readonly recipientName: string | null;
}

/**
 * How a send ended, which drives the bus: `sent` → ack, `retryable` → delayed redelivery,
 * `permanent` → dead letter (and the next channel in the user's preference, if any). Reasons are
 * short codes, safe to log: never an address, number, token or message body.
 */
export type SendOutcome =
  | { readonly kind: 'sent'; readonly providerMessageId: string | null }
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMs: number | null }
  | { readonly kind: 'permanent'; readonly reason: string };

export interface EmailChannel {
  readonly kind: 'email';
  readonly vendor: string;
  send(to: string, notification: ApprovalNotification): Promise<SendOutcome>;
  /** The device enrolment link, over the same transport. */
  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome>;
  /** "A new device was added to your account", with its removal link. */
  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome>;
  close?(): Promise<void>;
}

export interface SmsChannel {
  readonly kind: 'sms';
  readonly vendor: string;
  /** `to` in E.164. */
  send(to: string, notification: ApprovalNotification): Promise<SendOutcome>;
  /** The device enrolment link, over the same transport; `to` in E.164. */
  sendEnrolment(to: string, invitation: EnrolmentInvitation): Promise<SendOutcome>;
  /** "A new device was added to your account", with its removal link; `to` in E.164. */
  sendDeviceAnnouncement(to: string, announcement: DeviceAnnouncement): Promise<SendOutcome>;
  close?(): Promise<void>;
}

/** A browser's Web Push subscription (RFC 8030 / 8291), as PushSubscription.toJSON() gives it. */
export interface WebPushSubscription {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

export type DeviceTarget = { readonly kind: 'web-push'; readonly subscription: WebPushSubscription } | { readonly kind: 'fcm'; readonly registrationToken: string };

export interface DevicePushChannel {
  readonly kind: 'device-push';
  readonly vendor: string;
  /** Which registered devices this adapter can reach. */
  accepts(target: DeviceTarget): boolean;
  send(target: DeviceTarget, notification: ApprovalNotification): Promise<SendOutcome>;
  close?(): Promise<void>;
}

export type AnyChannel = EmailChannel | SmsChannel | DevicePushChannel;
