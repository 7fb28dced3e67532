import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfiguredChannels } from '@ciba/channels';

/** The email, SMS and device-push adapters this deployment enabled (see `channelsFromEnv`). */
export const CONFIGURED_CHANNELS = Symbol('ConfiguredChannels');

/** Closes the adapters' connections (SMTP pool, SMPP session) when the service stops. */
@Injectable()
export class ChannelsShutdown implements OnApplicationShutdown {
  constructor(@Inject(CONFIGURED_CHANNELS) private readonly channels: ConfiguredChannels) {}

  async onApplicationShutdown(): Promise<void> {
    const all = [this.channels.email, this.channels.sms, ...this.channels.devicePush];
    await Promise.allSettled(all.flatMap((channel) => (channel?.close ? [channel.close()] : [])));
  }
}
