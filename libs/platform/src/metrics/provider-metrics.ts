import { Inject, Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import type { AuthRequest, NotificationChannel } from '@ciba/domain';
import type { BusObserver } from '@ciba/messaging';
import { poolUse } from '@ciba/persistence';
import { BUS_LAG, type BusLag } from '../messaging/bus-lag.js';

/** How a channel send ended: the channel's outcome, or `error` when the send threw. */
export type ChannelSendOutcome = 'sent' | 'retryable' | 'permanent' | 'error';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A user takes seconds to minutes to answer; requests live 300 s by default. */
const DECISION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

/**
 * Every Prometheus series a service exposes, in one registry per process (the all-in-one's holds
 * every service's). Each series is labelled with bounded values only — route patterns, consumer and
 * channel names, outcomes — never a path, a client or a user. Node's process metrics come too.
 *
 * | series | labels | incremented by |
 * |---|---|---|
 * | `ciba_http_requests_total`, `ciba_http_request_duration_seconds` | method, route, status | every HTTP request but `/metrics` |
 * | `ciba_flows_started_total` | mode | authorize, on an accepted bc-authorize |
 * | `ciba_flows_finished_total` | outcome (approved, denied, expired), reason | notifier: a decision applied, a refusal, an expiry |
 * | `ciba_time_to_decision_seconds` | outcome | notifier: from the request to the decision |
 * | `ciba_channel_sends_total`, `ciba_channel_send_duration_seconds` | channel, outcome | notifier: each channel tried |
 * | `ciba_bus_messages_handled_total`, `ciba_bus_message_duration_seconds` | consumer, outcome (ack, retry, dead-letter) | every bus consumer of the process |
 * | `ciba_bus_consumer_lag` | consumer, state (waiting, in_flight) | read from the bus at each scrape |
 * | `ciba_db_pool_connections` | state (open, idle, waiting, max) | read from the pool at each scrape |
 * | `ciba_callback_*` | mode, outcome | callback dispatcher (`CallbackMetrics`) |
 * | `ciba_signing_key_rotations_total` | — | the process that rotated the signing keys on schedule (`KeyRotationScheduler`) |
 */
@Injectable()
export class ProviderMetrics {
  readonly registry = new Registry();

  private readonly httpRequests = new Counter({
    name: 'ciba_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'ciba_http_request_duration_seconds',
    help: 'Time from a request arriving to its response finishing, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly flowsStarted = new Counter({
    name: 'ciba_flows_started_total',
    help: 'Backchannel authentication requests accepted, by the client’s token delivery mode.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  private readonly flowsFinished = new Counter({
    name: 'ciba_flows_finished_total',
    help: 'Requests that ended: approved, denied (reason: the device’s answer or the provider’s refusal) or expired.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly timeToDecision = new Histogram({
    name: 'ciba_time_to_decision_seconds',
    help: 'From the request being accepted to its decision, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: DECISION_BUCKETS,
    registers: [this.registry],
  });
  private readonly channelSends = new Counter({
    name: 'ciba_channel_sends_total',
    help: 'Notifications sent to a user, by channel and outcome (sent, retryable, permanent, error).',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly channelDuration = new Histogram({
    name: 'ciba_channel_send_duration_seconds',
    help: 'Duration of one send on a channel.',
    labelNames: ['channel'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly keyRotations = new Counter({
    name: 'ciba_signing_key_rotations_total',
    help: 'Scheduled signing-key rotations this process made (one per rotation, whatever the number of algorithms).',
    registers: [this.registry],
  });
  private readonly busMessages = new Counter({
    name: 'ciba_bus_messages_handled_total',
    help: 'Lifecycle messages a consumer of this process handled, by how they settled (ack, retry, dead-letter).',
    labelNames: ['consumer', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly busDuration = new Histogram({
    name: 'ciba_bus_message_duration_seconds',
    help: 'Time a consumer of this process took to handle one message.',
    labelNames: ['consumer'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Settlements of this process's bus consumers; give it to the bus server (`BusServerOptions.observer`). */
  readonly busObserver: BusObserver = {
    settled: (consumer, action, durationMs) => {
      this.busMessages.inc({ consumer, outcome: action });
      this.busDuration.observe({ consumer }, durationMs / 1000);
    },
  };

  // No `service` label of its own: the scrape target's labels (job, pod; `service` under the
  // Prometheus operator) say which service a series comes from.
  constructor(@Optional() @Inject(DataSource) dataSource?: DataSource, @Optional() @Inject(BUS_LAG) lag?: BusLag) {
    collectDefaultMetrics({ register: this.registry });
    if (dataSource) registerPoolGauge(this.registry, dataSource);
    if (lag) registerBusLagGauge(this.registry, lag);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  }

  flowStarted(request: Pick<AuthRequest, 'deliveryMode'>): void {
    this.flowsStarted.inc({ mode: request.deliveryMode });
  }

  /** A request decided now (`status` approved or denied), by the user or by the provider. */
  flowDecided(request: Pick<AuthRequest, 'status' | 'denialReason' | 'createdAt' | 'decidedAt'>): void {
    if (request.status !== 'approved' && request.status !== 'denied') return;
    this.flowsFinished.inc({ outcome: request.status, reason: request.denialReason ?? '' });
    if (request.decidedAt) this.timeToDecision.observe({ outcome: request.status }, Math.max(0, request.decidedAt.getTime() - request.createdAt.getTime()) / 1000);
  }

  flowsExpired(count: number): void {
    if (count > 0) this.flowsFinished.inc({ outcome: 'expired', reason: '' }, count);
  }

  channelSend(channel: NotificationChannel, outcome: ChannelSendOutcome, seconds: number): void {
    this.channelSends.inc({ channel, outcome });
    this.channelDuration.observe({ channel }, seconds);
  }

  signingKeysRotated(): void {
    this.keyRotations.inc();
  }

  /** The Prometheus text exposition of every series. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/** `ciba_db_pool_connections{state}`: the service's PostgreSQL pool, read at each scrape. */
function registerPoolGauge(registry: Registry, dataSource: DataSource): void {
  new Gauge({
    name: 'ciba_db_pool_connections',
    help: 'PostgreSQL connections of this process: open, idle, callers waiting for one, and the pool’s maximum.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const use = dataSource.isInitialized ? poolUse(dataSource) : null;
      if (!use) return;
      this.set({ state: 'open' }, use.total);
      this.set({ state: 'idle' }, use.idle);
      this.set({ state: 'waiting' }, use.waiting);
      this.set({ state: 'max' }, use.max);
    },
  });
}

/**
 * `ciba_bus_consumer_lag{consumer, state="waiting"|"in_flight"}`, read from the bus at each scrape.
 * A bus that cannot be asked leaves the gauge empty rather than fail the scrape.
 */
function registerBusLagGauge(registry: Registry, lag: BusLag): void {
  new Gauge({
    name: 'ciba_bus_consumer_lag',
    help: 'Lifecycle events a durable consumer has not acknowledged yet: waiting for delivery, or delivered and in flight.',
    labelNames: ['consumer', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const lags = await lag().catch(() => []);
      for (const { consumer, waiting, inFlight } of lags) {
        this.set({ consumer, state: 'waiting' }, waiting);
        this.set({ consumer, state: 'in_flight' }, inFlight);
      }
    },
  });
}
