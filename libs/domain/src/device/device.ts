/**
 * A device the user registered for device push: a browser's Web Push subscription (RFC 8030 /
 * 8291) or a mobile app's FCM registration token. The target is a bearer credential for the user's
 * device: adapters store it encrypted and never log it.
 */
export type DeviceTarget =
  | { readonly kind: 'web-push'; readonly subscription: { readonly endpoint: string; readonly keys: { readonly p256dh: string; readonly auth: string } } }
  | { readonly kind: 'fcm'; readonly registrationToken: string };

export type DeviceKind = DeviceTarget['kind'];

/**
 * Who vouched for a registration: the user's one-time enrolment link (sent to their verified email
 * address or phone number), or an authenticated client presenting the user's fresh ID token.
 */
export type DeviceRegistrar = { readonly via: 'enrolment_link' } | { readonly via: 'client'; readonly clientId: string };

/**
 * Who ended a registration: a client (only registrations it made itself), the user through an
 * enrolment link or a removal link, or an operator (`ciba-admin devices revoke`).
 */
export type DeviceRevoker = { readonly via: 'client'; readonly clientId: string } | { readonly via: 'enrolment_link' | 'removal_link' | 'admin' };

/** Why a registration ended: someone revoked it, or the push service said it is gone. */
export type DeviceRevocationReason = 'revoked' | 'gone';

/** How a registration ended; `by` is null when the provider ended it (push service gone, the same target registered again). */
export interface DeviceRevocation {
  readonly reason: DeviceRevocationReason | 'replaced';
  readonly by: DeviceRevoker | null;
}

export interface Device {
  readonly id: string;
  readonly subject: string;
  readonly label: string | null;
  readonly target: DeviceTarget;
  /** The client that registered the device; null when the user's enrolment link did. */
  readonly clientId: string | null;
  readonly createdAt: Date;
  /** The registration ends by itself then (`CIBA_DEVICE_REGISTRATION_TTL` after it was made). */
  readonly expiresAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
  readonly revocation: DeviceRevocation | null;
}

/** What registering stores: the registrar's client (if any) and the end of the registration's life. */
export interface NewDevice {
  readonly id: string;
  readonly subject: string;
  readonly label: string | null;
  readonly target: DeviceTarget;
  readonly clientId?: string | null;
  readonly expiresAt: Date;
}

/** Neither revoked nor past its lifetime: the only devices that are listed and notified. */
export function isActiveDevice(device: Device, now: Date): boolean {
  return device.revokedAt === null && device.expiresAt.getTime() > now.getTime();
}

export function registrarOf(device: Device): DeviceRegistrar {
  return device.clientId === null ? { via: 'enrolment_link' } : { via: 'client', clientId: device.clientId };
}

/** The channels a new device is announced on, and the only ones its removal links go to. */
export const DEVICE_ANNOUNCEMENT_CHANNELS = ['email', 'sms'] as const;
export type DeviceAnnouncementChannel = (typeof DEVICE_ANNOUNCEMENT_CHANNELS)[number];
