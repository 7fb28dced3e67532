import { type DynamicModule, Module } from '@nestjs/common';
import { ChannelConfigError, type ConfiguredChannels, channelsFromEnv } from '@ciba/channels';
import type { ProviderConfig } from '@ciba/config';
import { ConfigError } from '@ciba/config';
import { HtmlErrorPages, PROVIDER_CONFIG } from '@ciba/platform';
import { ApprovalPageController } from './approval-page/approval-page.controller.js';
import { ApprovalPageExceptionFilter } from './approval-page/approval-page.http.js';
import { ApprovalLinks } from './approval-page/approval-links.js';
import { AuthCallbackController } from './auth-callback.controller.js';
import { HttpAuthenticationChannel } from './channels/http-authentication.channel.js';
import { DecisionTokens } from './decision-tokens.js';
import { DeviceDecisionService } from './device-decision.service.js';
import { DeviceAnnouncementHandler } from './devices/device-announcement.handler.js';
import { DeviceAnnouncer } from './devices/device-announcer.service.js';
import { DeviceEnrolment } from './devices/device-enrolment.service.js';
import { DeviceEvents } from './devices/device-events.service.js';
import { DeviceRegistry } from './devices/device-registry.service.js';
import { DeviceRemovalPageController } from './devices/device-removal-page.controller.js';
import { DevicesController } from './devices/devices.controller.js';
import { EnrolmentPageController } from './devices/enrolment-page.controller.js';
import { ExpirySweeper } from './expiry-sweeper.service.js';
import { CONFIGURED_CHANNELS, ChannelsShutdown } from './notification/configured-channels.js';
import { NotificationHandler } from './notification/notification.handler.js';
import { AUTHENTICATION_CHANNEL, ChannelDelivery } from './notification/channel-delivery.js';
import { UserNotifier } from './notification/user-notifier.service.js';
import { SentDecisionTokens } from './sent-decision-tokens.js';
import { PasskeyCeremonies } from './step-up/passkey-ceremonies.service.js';

export interface NotifierModuleOptions {
  /**
   * The email, SMS and device-push adapters. Default: built from the environment by
   * `channelsFromEnv` (`CIBA_EMAIL_VENDOR`, `CIBA_SMS_VENDOR`, `CIBA_DEVICE_PUSH_VENDORS`); the
   * all-in-one start passes its development inbox instead.
   */
  readonly channels?: ConfiguredChannels;
}

/**
 * Reads the channel configuration at boot; a problem is a configuration error (exit 78), listed
 * with every other.
 */
export function channelsFromEnvironment(env: Readonly<Record<string, string | undefined>>): ConfiguredChannels {
  try {
    return channelsFromEnv(env);
  } catch (err) {
    if (err instanceof ChannelConfigError) throw new ConfigError(err.problems);
    throw err;
  }
}

/** The notifier service: needs `CoreModule` (with keys) in the app and a bus server for its handlers. */
@Module({})
export class NotifierModule {
  constructor(pages: HtmlErrorPages) {
    // People read these pages: an unmatched path or an unreadable body below them is an HTML page too.
    const filter = new ApprovalPageExceptionFilter();
    pages.register('/approve', filter);
    pages.register('/enrol', filter);
  }

  static forRoot(options: NotifierModuleOptions = {}): DynamicModule {
    return {
      module: NotifierModule,
      controllers: [
        AuthCallbackController,
        NotificationHandler,
        ApprovalPageController,
        EnrolmentPageController,
        DevicesController,
        DeviceRemovalPageController,
        DeviceAnnouncementHandler,
      ],
      providers: [
        UserNotifier,
        ChannelDelivery,
        DeviceDecisionService,
        ApprovalLinks,
        ExpirySweeper,
        ChannelsShutdown,
        DeviceEnrolment,
        DeviceRegistry,
        DeviceEvents,
        DeviceAnnouncer,
        PasskeyCeremonies,
        {
          provide: CONFIGURED_CHANNELS,
          inject: [PROVIDER_CONFIG],
          useFactory: (config: ProviderConfig) => {
            const channels = options.channels ?? channelsFromEnvironment(process.env);
            if (!config.authChannel.uri && !channels.email && !channels.sms && channels.devicePush.length === 0) {
              throw new ConfigError([
                'the notifier has no way to reach users: set CIBA_AUTH_CHANNEL_URI, CIBA_EMAIL_VENDOR, CIBA_SMS_VENDOR or CIBA_DEVICE_PUSH_VENDORS',
              ]);
            }
            return channels;
          },
        },
        { provide: SentDecisionTokens, useFactory: () => new SentDecisionTokens() },
        {
          provide: DecisionTokens,
          inject: [PROVIDER_CONFIG],
          useFactory: (config: ProviderConfig) => new DecisionTokens(config.keys.encryptionKey),
        },
        {
          // The Keycloak-compatible HTTP authentication channel, when CIBA_AUTH_CHANNEL_URI is set.
          provide: AUTHENTICATION_CHANNEL,
          inject: [PROVIDER_CONFIG],
          useFactory: (config: ProviderConfig) => (config.authChannel.uri ? new HttpAuthenticationChannel(config.authChannel.uri, config.authChannel.timeoutMs) : null),
        },
      ],
      exports: [ExpirySweeper, ApprovalLinks, DeviceDecisionService, DeviceEnrolment, DeviceRegistry, DeviceEvents, DeviceAnnouncer, PasskeyCeremonies],
    };
  }
}
