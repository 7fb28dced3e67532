/**
 * A device the user registered for device push: a browser's Web Push subscription (RFC 8030 /
 * 8291) or a mobile app's FCM registration token. The target is a bearer credential for the user's
 * device: adapters store it encrypted and never log it.
 */
export type DeviceTarget =
  | { readonly kind: 'web-push'; readonly subscription: { readonly endpoint: string; readonly keys: { readonly p256dh: string; readonly auth: string } } }
  | { readonly kind: 'fcm'; readonly registrationToken: string };

export type DeviceKind = DeviceTarget['kind'];

export interface Device {
  readonly id: string;
  readonly subject: string;
  readonly label: string | null;
  readonly target: DeviceTarget;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** Why a registration ended: the user or an operator revoked it, or the push service said it is gone. */
export type DeviceRevocationReason = 'revoked' | 'gone';
