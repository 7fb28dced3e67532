import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type AuthRequestRepository, type Clock, type EventPublisher, requestCreated, requestExpired } from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import { AUTH_REQUEST_REPOSITORY, CLOCK, EVENT_PUBLISHER, PROVIDER_CONFIG } from '@ciba/platform';
import { DeviceEvents } from './devices/device-events.service.js';

const BATCH = 200;

/**
 * Moves pending requests past their lifetime to `expired` (announcing each), and republishes
 * requests whose device was never notified — the recovery path when the bus was unreachable at
 * bc-authorize time. Rows are claimed with SKIP LOCKED, so replicas can all run it. It also
 * republishes device events the bus never got (see `DeviceEvents.recover`).
 */
@Injectable()
export class ExpirySweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ExpirySweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
    @Inject(AUTH_REQUEST_REPOSITORY) private readonly requests: AuthRequestRepository,
    @Inject(EVENT_PUBLISHER) private readonly events: EventPublisher,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly deviceEvents: DeviceEvents,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.logger.error({ err }, 'sweep failed'))
        .finally(() => {
          this.running = null;
        });
    }, this.config.sweeper.intervalMs);
    this.timer.unref();
  }

  /** Stops before any module shuts down, so a sweep never runs against a closing database. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async sweep(): Promise<{ expired: number; republished: number }> {
    const now = this.clock.now();
    const expired = await this.requests.expireDue(now, BATCH);
    for (const request of expired) await this.events.publish(requestExpired(request, now));
    const stale = await this.requests.findUnnotified(new Date(now.getTime() - this.config.sweeper.renotifyAfterMs), BATCH);
    for (const request of stale) await this.events.publish(requestCreated(request, this.config.ciba.interval));
    if (expired.length + stale.length > 0) this.logger.log({ expired: expired.length, republished: stale.length }, 'sweep');
    const devices = await this.deviceEvents.recover(now);
    if (devices.registrations + devices.revocations > 0) this.logger.log(devices, 'device events republished');
    return { expired: expired.length, republished: stale.length };
  }
}
