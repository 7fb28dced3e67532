import { readFileSync } from 'node:fs';
import { Module, type OnApplicationShutdown, Injectable } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import { CallbackSender } from '@ciba/outbound';
import { PROVIDER_CONFIG, notificationEndpointPolicy } from '@ciba/platform';
import { CallbackDispatcher } from './callback-dispatcher.service.js';
import { CallbackMetrics } from './callback-metrics.js';
import { CallbackHandler } from './callback.handler.js';

@Injectable()
class SenderLifecycle implements OnApplicationShutdown {
  constructor(private readonly sender: CallbackSender) {}
  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}

/** The callback dispatcher: needs `CoreModule` (with keys) in the app and a bus server for its handler. */
@Module({
  controllers: [CallbackHandler],
  providers: [
    CallbackDispatcher,
    CallbackMetrics,
    SenderLifecycle,
    {
      provide: CallbackSender,
      inject: [PROVIDER_CONFIG],
      useFactory: (config: ProviderConfig) =>
        new CallbackSender({
          policy: notificationEndpointPolicy(config),
          connectTimeoutMs: config.callbacks.connectTimeoutMs,
          responseTimeoutMs: config.callbacks.responseTimeoutMs,
          ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
        }),
    },
  ],
})
export class CallbackDispatcherModule {}
