import { headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { EventPublisher, LifecycleEvent, PublishOptions } from '@ciba/domain';
import { DEFAULT_TOPOLOGY, HEADERS, subjectFor } from '../catalogue.js';
import type { BusTopology } from '../catalogue.js';
import { encodeLifecycleEvent } from '../lifecycle-event.schema.js';
import { type BusTracing, NO_BUS_TRACING } from '../bus-tracing.js';

export interface JetStreamEventPublisherOptions {
  readonly connection: NatsConnection;
  readonly topology?: BusTopology;
  /** How long to wait for the stream's PubAck. */
  readonly timeoutMs?: number;
  /** Spans for publishes, and the trace context in each message's headers. */
  readonly tracing?: BusTracing;
}

/**
 * Publishes lifecycle events to JetStream. `publish` resolves once the stream has stored the event
 * (PubAck). The event id is the `Nats-Msg-Id`, so republishing within the duplicate window is a no-op.
 */
export class JetStreamEventPublisher implements EventPublisher {
  private readonly js: JetStreamClient;
  private readonly topology: BusTopology;
  private readonly timeoutMs: number;
  private readonly tracing: BusTracing;

  constructor(options: JetStreamEventPublisherOptions) {
    this.js = jetstream(options.connection);
    this.topology = options.topology ?? DEFAULT_TOPOLOGY;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.tracing = options.tracing ?? NO_BUS_TRACING;
  }

  async publish(event: LifecycleEvent, options: PublishOptions = {}): Promise<void> {
    await this.publishWithAck(event, options);
  }

  /** Like `publish`, returning the PubAck (`duplicate` is true when the server dropped a repeat). */
  publishWithAck(event: LifecycleEvent, options: PublishOptions = {}): Promise<PubAck> {
    const hdrs = headers();
    if (event.correlationId) hdrs.set(HEADERS.correlationId, event.correlationId);
    const subject = subjectFor(event.type, this.topology);
    const messageId = options.messageId ?? event.eventId;
    return this.tracing.publish({ subject, messageId, headers: hdrs }, () =>
      this.js.publish(subject, encodeLifecycleEvent(event), { msgID: messageId, headers: hdrs, timeout: this.timeoutMs }),
    );
  }
}
