import type { BusTracing, DeliveryResult, TracedDelivery, TracedPublish } from '@ciba/messaging';

export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/**
 * Traces as the services use them (a port; the OpenTelemetry adapter is `open-telemetry.ts`, loaded
 * only when tracing is configured). One CIBA flow is one trace: the W3C `traceparent` of the
 * bc-authorize request is stored with the authentication request, and later work for that request
 * arriving on requests of its own (the device's decision, the client's token request) runs in a span
 * of that trace (`inFlow`), linked to the request it arrived on. The bus carries the context in
 * between (`BusTracing`).
 *
 * Never give a span a secret: no token, auth_req_id, login hint, binding message, email address or
 * phone number as an attribute or in a name.
 */
export abstract class FlowTracing implements BusTracing {
  abstract readonly enabled: boolean;

  /** The `traceparent` of the active span, to store with a new authentication request; null without tracing. */
  abstract traceParent(): string | null;

  /**
   * Runs `work` in a span `name` of the flow whose `traceparent` was stored (`flowContext`): a child of
   * the active span when that is already in the flow's trace; otherwise a child of the stored context,
   * linked to the active span (the HTTP request the work arrived on). Without a stored context, a child
   * of the active span.
   */
  abstract inFlow<T>(name: string, flowContext: string | null, attributes: SpanAttributes, work: () => Promise<T>): Promise<T>;

  /** `trace_id` and `span_id` of the active span, for a log line; undefined outside a span. */
  abstract logFields(): Record<string, string> | undefined;

  abstract publish<T>(message: TracedPublish, send: () => Promise<T>): Promise<T>;
  abstract process(delivery: TracedDelivery, handle: () => Promise<DeliveryResult>): Promise<DeliveryResult>;

  /** Exports the spans still buffered, then stops. */
  abstract shutdown(): Promise<void>;
}

class NoTracing extends FlowTracing {
  readonly enabled = false;
  traceParent(): null {
    return null;
  }
  inFlow<T>(_name: string, _flowContext: string | null, _attributes: SpanAttributes, work: () => Promise<T>): Promise<T> {
    return work();
  }
  logFields(): undefined {
    return undefined;
  }
  publish<T>(_message: TracedPublish, send: () => Promise<T>): Promise<T> {
    return send();
  }
  process(_delivery: TracedDelivery, handle: () => Promise<DeliveryResult>): Promise<DeliveryResult> {
    return handle();
  }
  async shutdown(): Promise<void> {}
}

export const NO_TRACING: FlowTracing = new NoTracing();

let installed: FlowTracing = NO_TRACING;

/** Makes `tracing` the process's tracing (`startTracing` does, before the service's modules load). */
export function installTracing(tracing: FlowTracing): void {
  installed = tracing;
}

/** The process's tracing: `NO_TRACING` unless `startTracing` found it configured. */
export function installedTracing(): FlowTracing {
  return installed;
}
