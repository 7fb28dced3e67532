import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type ConfiguredChannels, WebPushChannel } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import type { AuthenticatedClient, Clock, Device, DeviceRegistrar, DeviceRepository, DeviceRevoker, DeviceTarget, UserRepository } from '@ciba/domain';
import { CLOCK, DEVICE_REPOSITORY, PROVIDER_CONFIG, SubjectMapper, USER_REPOSITORY } from '@ciba/platform';
import { type IdTokenRefusal, KeyStore, sha256Base64url, verifyClientIdToken } from '@ciba/tokens';
import { CONFIGURED_CHANNELS } from '../notification/configured-channels.js';
import { DeviceEvents } from './device-events.service.js';
import { isDeviceId, isLinkToken } from './device-request.js';

/** The user an ID token proves, or why it proves nothing (`unknown_user`: the user no longer exists). */
export type ProvenUser = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly refusal: IdTokenRefusal | 'unknown_user' };

/**
 * The user's registered devices for device push, as the enrolment page, the device API, the removal
 * link and the admin CLI see them. Every registration and revocation is published as a device event
 * (announcement to the user, audit trail). Logs carry device ids and kinds only: never a
 * subscription, registration token or who the user is.
 */
@Injectable()
export class DeviceRegistry {
  private readonly logger = new Logger(DeviceRegistry.name);

  constructor(
    @Inject(DEVICE_REPOSITORY) private readonly devices: DeviceRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    private readonly keyStore: KeyStore,
    private readonly events: DeviceEvents,
    private readonly subjects: SubjectMapper,
  ) {}

  /** The VAPID public key browsers subscribe with; null when Web Push is not enabled. */
  webPushKey(): string | null {
    const webPush = this.channels.devicePush.find((channel): channel is WebPushChannel => channel instanceof WebPushChannel);
    return webPush?.vapidPublicKey ?? null;
  }

  /** Whether an enabled device-push adapter can reach this kind of target: a device nothing can reach is not registered. */
  reachable(target: DeviceTarget): boolean {
    return this.channels.devicePush.some((channel) => channel.accepts(target));
  }

  /** Why no adapter can reach `target`: its kind is off, or (Web Push) its endpoint is not an allowed push service. */
  unreachableBecause(target: DeviceTarget): string {
    return this.channels.devicePush.some((channel) => channel.vendor === target.kind)
      ? 'subscription.endpoint is not an allowed push service'
      : `device push by ${target.kind} is not enabled on this provider`;
  }

  /**
   * Registers the target for `subject` until `CIBA_DEVICE_REGISTRATION_TTL` from now, recording the
   * client that registered it (none for an enrolment link); the same target registered before (by
   * anyone) is replaced. The user is then told on their other channels (`device.registered`).
   */
  async register(subject: string, target: DeviceTarget, label: string | null, registrar: DeviceRegistrar, correlationId: string | null = null): Promise<Device> {
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.devices.registrationTtl * 1000);
    const clientId = registrar.via === 'client' ? registrar.clientId : null;
    const device = await this.devices.register({ id: randomUUID(), subject, label, target, clientId, expiresAt }, now);
    this.logger.log({ deviceId: device.id, kind: target.kind, via: registrar.via, clientId }, 'device registered');
    await this.events.registered(device, correlationId);
    return device;
  }

  /** The user's active devices; with `registeredBy`, only those that client registered. */
  listActive(subject: string, registeredBy?: string): Promise<Device[]> {
    return this.devices.listActive(subject, this.clock.now(), registeredBy);
  }

  /**
   * Ends one of the user's registrations; a client revoker ends only registrations it made. Null when
   * the id names no such active device: unknown, someone else's, another client's, already revoked.
   */
  async revoke(subject: string, id: string, by: DeviceRevoker, correlationId: string | null = null): Promise<Device | null> {
    if (!isDeviceId(id)) return null;
    const revoked = await this.devices.revoke(subject, id, 'revoked', this.clock.now(), by);
    if (!revoked) return null;
    this.logger.log({ deviceId: id, via: by.via }, 'device revoked');
    await this.events.revoked(revoked, correlationId);
    return revoked;
  }

  /** The active device a removal link would remove, without using the link (mail scanners open links too). */
  deviceForRemovalLink(token: string): Promise<Device | null> {
    return isLinkToken(token) ? this.devices.findByRemovalLink(sha256Base64url(token), this.clock.now()) : Promise.resolve(null);
  }

  /** Uses the removal link and ends its device: the device for exactly one caller, else null (unknown, used, expired, device gone). */
  async removeWithLink(token: string, correlationId: string | null = null): Promise<Device | null> {
    if (!isLinkToken(token)) return null;
    const revoked = await this.devices.revokeWithRemovalLink(sha256Base64url(token), this.clock.now());
    if (!revoked) return null;
    this.logger.log({ deviceId: revoked.id, via: 'removal_link' }, 'device revoked');
    await this.events.revoked(revoked, correlationId);
    return revoked;
  }

  /**
   * The user an ID token proves to `client`: ours, unexpired, issued to that client, attesting an
   * authentication no older than `CIBA_DEVICE_ID_TOKEN_MAX_AGE`, for a user that still exists.
   */
  async proveUser(client: AuthenticatedClient, idToken: string): Promise<ProvenUser> {
    const verified = await verifyClientIdToken(idToken, {
      keyStore: this.keyStore,
      issuer: this.config.issuer,
      clientId: client.clientId,
      now: this.clock.now(),
      maxAuthAgeSeconds: this.config.devices.idTokenMaxAge,
    });
    if (!verified.ok) return verified;
    // OpenID Connect Core §8.1: a pairwise client's ID token names the user by its sector's sub.
    const sub = await this.subjects.localSubject(client, verified.sub);
    if (sub === null) return { ok: false, refusal: 'unknown_user' };
    const user = await this.users.findBySub(sub);
    return user ? { ok: true, subject: user.sub } : { ok: false, refusal: 'unknown_user' };
  }
}
