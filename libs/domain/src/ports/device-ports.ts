import type { Device, DeviceAnnouncementChannel, DeviceRevocationReason, DeviceRevoker, NewDevice } from '../device/device.js';

/** Ports of the user's devices: registrations, enrolment links and removal links. */

export interface DeviceRepository {
  /**
   * Registers a device for `subject`. Registering a target that is already active (the same
   * subscription or registration token) moves it to the new registration: one device per target.
   */
  register(device: NewDevice, now: Date): Promise<Device>;
  /** Any device by id, active or not; null when unknown. */
  find(id: string): Promise<Device | null>;
  /**
   * The user's active devices (not revoked, not past their lifetime), oldest first; with
   * `registeredBy`, only those that client registered.
   */
  listActive(subject: string, now: Date, registeredBy?: string): Promise<Device[]>;
  /**
   * Ends a registration and returns the device as revoked; null when it is unknown, someone else's,
   * already revoked, or (for a client revoker) not registered by that client.
   */
  revoke(subject: string, id: string, reason: DeviceRevocationReason, now: Date, by?: DeviceRevoker): Promise<Device | null>;
  markUsed(id: string, now: Date): Promise<void>;
  /** The notifier took the registration's announcement up: the sweeper no longer republishes it. */
  markAnnouncementTaken(id: string, now: Date): Promise<void>;
  /** Registrations made before `registeredBefore` whose announcement no notifier took up (their event was lost). */
  findUnannounced(registeredBefore: Date, limit: number): Promise<Device[]>;
  /** Revocations made before `revokedBefore` whose `device.revoked` event was never published. */
  findUnpublishedRevocations(revokedBefore: Date, limit: number): Promise<Device[]>;
  markRevocationPublished(id: string): Promise<void>;
  /**
   * Stores `tokenHash` as the device's removal link for one channel, unless that channel's link was
   * already sent (a redelivered announcement): then false, and nothing changes. A link prepared but
   * never marked sent is replaced, so a crash between the two leaves one live link per channel.
   */
  prepareRemovalLink(deviceId: string, sentVia: DeviceAnnouncementChannel, tokenHash: string, expiresAt: Date, now: Date): Promise<boolean>;
  markRemovalLinkSent(tokenHash: string, now: Date): Promise<void>;
  /** The active device an unused, unexpired removal link would remove, without using the link; else null. */
  findByRemovalLink(tokenHash: string, now: Date): Promise<Device | null>;
  /** Uses the removal link and revokes its device in one transaction: the device for exactly one caller, else null. */
  revokeWithRemovalLink(tokenHash: string, now: Date): Promise<Device | null>;
}

/**
 * What an unexpired enrolment link can still do: register one device for device push (the link's
 * main use, `consume`) and add one passkey, independently.
 */
export interface EnrolmentLinkState {
  readonly subject: string;
  readonly deviceOpen: boolean;
  readonly passkeyOpen: boolean;
}

/** One-time device enrolment links; only the hash is stored. */
export interface EnrolmentTokenRepository {
  save(record: { readonly tokenHash: string; readonly subject: string; readonly sentVia: string; readonly expiresAt: Date }): Promise<void>;
  /** The subject the token enrols for, without using it; null when unknown, used or expired. */
  peek(tokenHash: string, now: Date): Promise<string | null>;
  /** Uses the token: the subject for exactly one caller, else null (unknown, used or expired). */
  consume(tokenHash: string, now: Date): Promise<string | null>;
  /** Both uses of an unexpired link, without using either; null when unknown, expired, or both are used. */
  inspect(tokenHash: string, now: Date): Promise<EnrolmentLinkState | null>;
}
