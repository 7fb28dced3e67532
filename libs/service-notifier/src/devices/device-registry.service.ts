import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type ConfiguredChannels, WebPushChannel } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import type { Clock, Device, DeviceRepository, DeviceTarget, UserRepository } from '@ciba/domain';
import { CLOCK, DEVICE_REPOSITORY, PROVIDER_CONFIG, USER_REPOSITORY } from '@ciba/platform';
import { KeyStore, verifyIdToken } from '@ciba/tokens';
import { CONFIGURED_CHANNELS } from '../notification/configured-channels.js';
import { isDeviceId } from './device-request.js';

/**
 * The user's registered devices for device push, as the enrolment page, the device API and the
 * admin CLI see them. Logs carry device ids and kinds only: never a subscription, registration token
 * or who the user is.
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

  /** Registers the target for `subject`; the same target registered before (by anyone) is replaced. */
  async register(subject: string, target: DeviceTarget, label: string | null): Promise<Device> {
    const device = await this.devices.register({ id: randomUUID(), subject, label, target }, this.clock.now());
    this.logger.log({ deviceId: device.id, kind: target.kind }, 'device registered');
    return device;
  }

  listActive(subject: string): Promise<Device[]> {
    return this.devices.listActive(subject);
  }

  /** False when the id names no active device of this user (unknown, someone else's, already revoked). */
  async revoke(subject: string, id: string): Promise<boolean> {
    if (!isDeviceId(id)) return false;
    const revoked = await this.devices.revoke(subject, id, 'revoked', this.clock.now());
    if (revoked) this.logger.log({ deviceId: id }, 'device revoked');
    return revoked;
  }

  /**
   * The user an ID token of ours names, when it is still valid (signature, issuer, not expired) and
   * the user still exists; null otherwise.
   */
  async subjectOfIdToken(idToken: string): Promise<string | null> {
    const verified = await verifyIdToken(idToken, { keyStore: this.keyStore, issuer: this.config.issuer, now: this.clock.now() });
    if (!verified) return null;
    const user = await this.users.findBySub(verified.sub);
    return user?.sub ?? null;
  }
}
