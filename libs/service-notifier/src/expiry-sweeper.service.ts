import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type AuthRequest, type AuthRequestRepository, type Clock, type EventPublisher, type LifecycleEvent, requestCreated, requestExpired, settledEvent } from '@ciba/domain';
import type { ProviderConfig } from '@ciba/config';
import { AUTH_REQUEST_REPOSITORY, CLOCK, EVENT_PUBLISHER, FlowTracing, PROVIDER_CONFIG, ProviderMetrics } from '@ciba/platform';
import { DeviceEvents } from './devices/device-events.service.js';

const BATCH = 200;

/**
 * Moves pending requests past their lifetime to `expired` (announcing each), and republishes what a
 * crash or an unreachable bus left unannounced: the outcome event (approved, denied, expired) of
 * requests settled `CIBA_REPUBLISH_AFTER_MS` ago whose publication was never confirmed, the
 * created event of requests whose device was never notified, and device events the bus never got
 * (see `DeviceEvents.recover`). Expiry claims rows with SKIP LOCKED, so replicas can all run it; a
 * republish by two replicas is harmless (same event ids).
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
    private readonly metrics: ProviderMetrics,
    private readonly tracing: FlowTracing,
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

  async sweep(): Promise<{ expired: number; republished: number; outcomesRepublished: number }> {
    const now = this.clock.now();
    const expired = await this.requests.expireDue(now, BATCH);
    this.metrics.flowsExpired(expired.length);
    await this.announce('ciba.expiry', expired, (request) => requestExpired(request, now), now);
    const unannounced = await this.requests.findUnpublishedOutcomes(new Date(now.getTime() - this.config.sweeper.republishAfterMs), BATCH);
    await this.announce('ciba.republish', unannounced, settledEvent, now);
    const stale = await this.requests.findUnnotified(new Date(now.getTime() - this.config.sweeper.renotifyAfterMs), BATCH);
    for (const request of stale) await this.publishInFlow('ciba.renotify', request, requestCreated(request, this.config.ciba.interval));
    const counts = { expired: expired.length, republished: stale.length, outcomesRepublished: unannounced.length };
    if (expired.length + stale.length + unannounced.length > 0) this.logger.log(counts, 'sweep');
    const devices = await this.deviceEvents.recover(now);
    if (devices.registrations + devices.revocations > 0) this.logger.log(devices, 'device events republished');
    return counts;
  }

  /** Publishes each request's outcome event, then confirms them all in one statement (the outbox marker). */
  private async announce(step: string, requests: readonly AuthRequest[], eventOf: (request: AuthRequest) => LifecycleEvent | null, now: Date): Promise<void> {
    for (const request of requests) {
      const event = eventOf(request);
      if (event) await this.publishInFlow(step, request, event);
    }
    await this.requests.markOutcomePublished(
      requests.map((request) => request.id),
      now,
    );
  }

  /** Each request's event in a span of its own flow's trace: an expiry ping, say, is delivered within the flow. */
  private publishInFlow(step: string, request: AuthRequest, event: LifecycleEvent): Promise<void> {
    return this.tracing.inFlow(step, request.traceContext, { 'ciba.request_id': request.id, 'ciba.client_id': request.clientId }, () => this.events.publish(event));
  }
}
