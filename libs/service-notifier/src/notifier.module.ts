import { Module } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { PROVIDER_CONFIG } from '@ciba/platform';
import { ApprovalPageController } from './approval-page/approval-page.controller.js';
import { ApprovalLinks } from './approval-page/approval-links.js';
import { AuthCallbackController } from './auth-callback.controller.js';
import { HttpAuthenticationChannel } from './channels/http-authentication.channel.js';
import { DecisionTokens } from './decision-tokens.js';
import { DeviceDecisionService } from './device-decision.service.js';
import { DeviceNotificationHandler } from './device-notification.handler.js';
import { AUTHENTICATION_CHANNEL, DeviceNotifier } from './device-notifier.service.js';
import { ExpirySweeper } from './expiry-sweeper.service.js';

/** The notifier service: needs `CoreModule` in the app and a bus server for its handlers. */
@Module({
  controllers: [AuthCallbackController, DeviceNotificationHandler, ApprovalPageController],
  providers: [
    DeviceNotifier,
    DeviceDecisionService,
    ApprovalLinks,
    ExpirySweeper,
    {
      provide: DecisionTokens,
      inject: [PROVIDER_CONFIG],
      useFactory: (config: ProviderConfig) => new DecisionTokens(config.keys.encryptionKey),
    },
    {
      provide: AUTHENTICATION_CHANNEL,
      inject: [PROVIDER_CONFIG],
      useFactory: (config: ProviderConfig) => {
        if (!config.authChannel.uri) throw new Error('CIBA_AUTH_CHANNEL_URI: required by the notifier (the HTTP authentication channel endpoint)');
        return new HttpAuthenticationChannel(config.authChannel.uri, config.authChannel.timeoutMs);
      },
    },
  ],
  exports: [ExpirySweeper, ApprovalLinks],
})
export class NotifierModule {}
