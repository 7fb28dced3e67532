import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { type Device, type DeviceRepository, type EventPublisher, deviceRegistered, deviceRevoked } from '@ciba/domain';
import { DEVICE_REPOSITORY, EVENT_PUBLISHER, PROVIDER_CONFIG } from '@ciba/platform';

const BATCH = 200;

/**
 * Publishes `device.registered` (which the notifier turns into the announcement to the user, and the
 * audit service records) and `device.revoked` (audit). The change is already committed when this
 * runs; if the bus is unreachable, `recover` (the notifier's sweeper) republishes registrations no
 * notifier took up and revocations never published, so neither the announcement nor the audit
 * record is lost. Event ids are deterministic: republishing is harmless.
 */
@Injectable()
export class DeviceEvents {
  private readonly logger = new Logger(DeviceEvents.name);

  constructor(
    @Inject(DEVICE_REPOSITORY) private readonly devices: DeviceRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  async registered(device: Device, correlationId: string | null): Promise<void> {
    try {
      await this.events.publish(deviceRegistered(device, correlationId));
    } catch (err) {
      this.logger.warn({ err, deviceId: device.id }, 'could not publish device.registered; the sweeper will republish it');
    }
  }

  async revoked(device: Device, correlationId: string | null): Promise<void> {
    try {
      await this.events.publish(deviceRevoked(device, correlationId));
      await this.devices.markRevocationPublished(device.id);
    } catch (err) {
      this.logger.warn({ err, deviceId: device.id }, 'could not publish device.revoked; the sweeper will republish it');
    }
  }

  /**
   * The sweeper's share: registrations older than `CIBA_RENOTIFY_AFTER_MS` that no notifier took up,
   * and revocations not yet published — among them those the provider made itself (a push service
   * reporting a device gone, a target registered again).
   */
  async recover(now: Date): Promise<{ registrations: number; revocations: number }> {
    const before = new Date(now.getTime() - this.config.sweeper.renotifyAfterMs);
    const unannounced = await this.devices.findUnannounced(before, BATCH);
    for (const device of unannounced) await this.events.publish(deviceRegistered(device));
    const unpublished = await this.devices.findUnpublishedRevocations(before, BATCH);
    for (const device of unpublished) {
      await this.events.publish(deviceRevoked(device));
      await this.devices.markRevocationPublished(device.id);
    }
    return { registrations: unannounced.length, revocations: unpublished.length };
  }
}
