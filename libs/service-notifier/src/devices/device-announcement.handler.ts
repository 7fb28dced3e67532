import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { CONSUMER_NAMES, PermanentError, handlerPattern, parseLifecycleEvent } from '@ciba/messaging';
import { DeviceAnnouncer } from './device-announcer.service.js';

/** Bus entry point of the announcement: the durable `notifier-devices` consumer of device.registered. */
@Controller()
export class DeviceAnnouncementHandler {
  constructor(private readonly announcer: DeviceAnnouncer) {}

  @EventPattern(handlerPattern(CONSUMER_NAMES.notifierDevices, 'device.registered'))
  async onRegistered(@Payload() data: unknown): Promise<void> {
    const event = parseLifecycleEvent(data);
    if (event.type !== 'device.registered') throw new PermanentError(`unexpected ${event.type} on the ${CONSUMER_NAMES.notifierDevices} consumer`);
    await this.announcer.announce(event.deviceId);
  }
}
