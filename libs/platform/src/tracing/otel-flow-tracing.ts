import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  context,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { OAuthError } from '@ciba/protocol';
import type { DeliveryResult, TracedDelivery, TracedPublish } from '@ciba/messaging';
import { FlowTracing, type SpanAttributes } from './flow-tracing.js';

// Messaging semantic conventions (still "development" upstream, so copied rather than imported from
// the package's incubating entry point, as it advises).
const MESSAGING_SYSTEM = 'messaging.system';
const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
const MESSAGING_MESSAGE_ID = 'messaging.message.id';
const MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';

const headerGetter: TextMapGetter<TracedDelivery> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (delivery, key) => delivery.header(key) || undefined,
};

/** The OpenTelemetry adapter of `FlowTracing` (see there); built by `startOpenTelemetry`. */
export class OtelFlowTracing extends FlowTracing {
  readonly enabled = true;

  constructor(
    private readonly tracer: Tracer,
    private readonly stop: () => Promise<void>,
  ) {
    super();
  }

  traceParent(): string | null {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return carrier['traceparent'] ?? null;
  }

  inFlow<T>(name: string, flowContext: string | null, attributes: SpanAttributes, work: () => Promise<T>): Promise<T> {
    const active = trace.getActiveSpan();
    const stored = flowContext === null ? null : propagation.extract(ROOT_CONTEXT, { traceparent: flowContext });
    const storedSpan = stored === null ? undefined : trace.getSpanContext(stored);
    let parent = context.active();
    const links: Link[] = [];
    if (stored !== null && storedSpan && isSpanContextValid(storedSpan) && active?.spanContext().traceId !== storedSpan.traceId) {
      parent = stored;
      if (active) links.push({ context: active.spanContext() });
    }
    return this.run(this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes, links }, parent), parent, work);
  }

  logFields(): Record<string, string> | undefined {
    const span = trace.getActiveSpan()?.spanContext();
    return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
  }

  publish<T>(message: TracedPublish, send: () => Promise<T>): Promise<T> {
    const parent = context.active();
    const span = this.tracer.startSpan(
      `publish ${message.subject}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          [MESSAGING_SYSTEM]: 'nats',
          [MESSAGING_DESTINATION_NAME]: message.subject,
          [MESSAGING_OPERATION_TYPE]: 'send',
          [MESSAGING_OPERATION_NAME]: 'publish',
          [MESSAGING_MESSAGE_ID]: message.messageId,
        },
      },
      parent,
    );
    const withSpan = trace.setSpan(parent, span);
    propagation.inject(withSpan, message.headers, { set: (headers, key, value) => headers.set(key, value) });
    return this.run(span, parent, send);
  }

  process(delivery: TracedDelivery, handle: () => Promise<DeliveryResult>): Promise<DeliveryResult> {
    const parent = propagation.extract(ROOT_CONTEXT, delivery, headerGetter);
    const span = this.tracer.startSpan(
      `process ${delivery.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          [MESSAGING_SYSTEM]: 'nats',
          [MESSAGING_DESTINATION_NAME]: delivery.subject,
          [MESSAGING_OPERATION_TYPE]: 'process',
          [MESSAGING_OPERATION_NAME]: 'process',
          [MESSAGING_CONSUMER_GROUP_NAME]: delivery.consumer,
          'ciba.bus.delivery_count': delivery.deliveryCount,
        },
      },
      parent,
    );
    return this.run(span, parent, async () => {
      const result = await handle();
      span.setAttribute('ciba.bus.settlement', result.settlement.action);
      if (result.settlement.action !== 'ack') span.setStatus({ code: SpanStatusCode.ERROR, message: result.settlement.action });
      return result;
    });
  }

  shutdown(): Promise<void> {
    return this.stop();
  }

  /**
   * Runs `work` with `span` active and ends it. A failure marks the span with the error's class only:
   * messages can quote input. An OAuth error below 500 is an answer, not a failure.
   */
  private run<T>(span: Span, parent: Context, work: () => Promise<T>): Promise<T> {
    return context.with(trace.setSpan(parent, span), async () => {
      try {
        return await work();
      } catch (err) {
        if (err instanceof OAuthError && err.status < 500) {
          span.setAttribute('ciba.oauth.error', err.error);
        } else {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : typeof err);
        }
        throw err;
      } finally {
        span.end();
      }
    });
  }
}
