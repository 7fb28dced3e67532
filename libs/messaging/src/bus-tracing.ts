import type { DeliveryResult } from './handler-dispatch.js';

/** A message about to be published: its subject, its `Nats-Msg-Id`, and headers to write the trace context into. */
export interface TracedPublish {
  readonly subject: string;
  readonly messageId: string;
  readonly headers: { set(key: string, value: string): void };
}

/** A message received by a durable consumer, with a reader of its headers (the publisher's trace context). */
export interface TracedDelivery {
  readonly subject: string;
  readonly consumer: string;
  readonly deliveryCount: number;
  header(key: string): string | undefined;
}

/**
 * How a bus carries a trace from publisher to consumer (W3C Trace Context in the message headers).
 * The OpenTelemetry adapter lives with the service wiring; the bus itself loads no tracing code, and
 * without tracing `NO_BUS_TRACING` runs each step as it is.
 */
export interface BusTracing {
  /** Runs `send` in a PRODUCER span, whose context it first writes into `message.headers`. */
  publish<T>(message: TracedPublish, send: () => Promise<T>): Promise<T>;
  /** Runs `handle` in a CONSUMER span, a child of the publisher's span when the headers carry its context. */
  process(delivery: TracedDelivery, handle: () => Promise<DeliveryResult>): Promise<DeliveryResult>;
}

export const NO_BUS_TRACING: BusTracing = {
  publish: (_message, send) => send(),
  process: (_delivery, handle) => handle(),
};
