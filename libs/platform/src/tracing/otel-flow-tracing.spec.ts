import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OAuthError } from '@ciba/protocol';
import type { DeliveryResult } from '@ciba/messaging';
import { pinoParams } from '../logging/logging.js';
import { NO_TRACING, installTracing } from './flow-tracing.js';
import { OtelFlowTracing } from './otel-flow-tracing.js';
import { UrlScrubbingSpanProcessor } from './span-hygiene.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new UrlScrubbingSpanProcessor(), new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const tracing = new OtelFlowTracing(tracer, () => provider.shutdown());
const acked: DeliveryResult = { event: null, settlement: { action: 'ack' } };

/** Runs `work` inside a new span `name` (an HTTP request, say) and returns the span. */
async function within(name: string, work: () => Promise<unknown>): Promise<Span> {
  return tracer.startActiveSpan(name, async (span) => {
    await work();
    span.end();
    return span;
  });
}

const finished = (name: string) => exporter.getFinishedSpans().find((span) => span.name === name)!;

describe('flow tracing with OpenTelemetry', () => {
  beforeAll(() => provider.register());
  afterEach(() => exporter.reset());
  afterAll(async () => {
    installTracing(NO_TRACING);
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('W3C Trace Context: the traceparent stored with a request is the active span’s', async () => {
    let stored: string | null = null;
    const request = await within('POST /bc-authorize', () => Promise.resolve((stored = tracing.traceParent())));
    expect(stored).toBe(`00-${request.spanContext().traceId}-${request.spanContext().spanId}-01`);
    expect(tracing.traceParent()).toBeNull();
  });

  it('work arriving on a request of its own joins the stored flow: a child of the stored context, linked to that request', async () => {
    let flowContext: string | null = null;
    const first = await within('POST /bc-authorize', () => Promise.resolve((flowContext = tracing.traceParent())));
    const later = await within('POST /token', () => tracing.inFlow('ciba.token_request', flowContext, { 'ciba.client_id': 'c1' }, () => Promise.resolve()));
    const step = finished('ciba.token_request');
    expect(step.spanContext().traceId).toBe(first.spanContext().traceId);
    expect(step.parentSpanContext?.spanId).toBe(first.spanContext().spanId);
    expect(step.links.map((link) => link.context.spanId)).toEqual([later.spanContext().spanId]);
    expect(step.attributes).toEqual({ 'ciba.client_id': 'c1' });
  });

  it('work already in the flow’s trace is a child of the active span, without a link', async () => {
    let flowContext: string | null = null;
    const first = await within('POST /bc-authorize', async () => {
      flowContext = tracing.traceParent();
      await tracing.inFlow('ciba.decision', flowContext, {}, () => Promise.resolve());
    });
    expect(finished('ciba.decision').parentSpanContext?.spanId).toBe(first.spanContext().spanId);
    expect(finished('ciba.decision').links).toEqual([]);
  });

  it('without a stored context (tracing was off when the request was made), the work is a child of the active span', async () => {
    const request = await within('POST /token', () => tracing.inFlow('ciba.token_request', null, {}, () => Promise.resolve()));
    expect(finished('ciba.token_request').spanContext().traceId).toBe(request.spanContext().traceId);
  });

  it('an OAuth error below 500 is an answer, not a failure; anything else marks the span failed with its class only', async () => {
    const pending = new OAuthError('authorization_pending', 'the end-user has not yet been authenticated');
    await expect(tracing.inFlow('pending', null, {}, () => Promise.reject(pending))).rejects.toBe(pending);
    expect(finished('pending').status.code).toBe(SpanStatusCode.UNSET);
    expect(finished('pending').attributes['ciba.oauth.error']).toBe('authorization_pending');
    await expect(tracing.inFlow('broken', null, {}, () => Promise.reject(new TypeError('value 4111 1111 is not a number')))).rejects.toThrow(TypeError);
    expect(finished('broken').status).toEqual({ code: SpanStatusCode.ERROR });
    expect(finished('broken').attributes['error.type']).toBe('TypeError');
    const { attributes, events, status } = finished('broken');
    expect(JSON.stringify({ attributes, events, status })).not.toContain('4111');
  });

  it('a bus message carries the publisher’s context in its headers; its handling is a CONSUMER span, child of the PRODUCER span', async () => {
    const headers = new Map<string, string>();
    await within('POST /bc-authorize', () =>
      tracing.publish({ subject: 'ciba.lifecycle.auth_request.created', messageId: 'r1:auth_request.created', headers: { set: (k, v) => headers.set(k, v) } }, () =>
        Promise.resolve(),
      ),
    );
    const published = finished('publish ciba.lifecycle.auth_request.created');
    expect(published.kind).toBe(SpanKind.PRODUCER);
    expect(headers.get('traceparent')).toBe(`00-${published.spanContext().traceId}-${published.spanContext().spanId}-01`);

    await tracing.process({ subject: 'ciba.lifecycle.auth_request.created', consumer: 'notifier', deliveryCount: 1, header: (k) => headers.get(k) }, () =>
      Promise.resolve(acked),
    );
    const processed = finished('process ciba.lifecycle.auth_request.created');
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.parentSpanContext?.spanId).toBe(published.spanContext().spanId);
    expect(processed.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.consumer.group.name': 'notifier', 'ciba.bus.settlement': 'ack' });
  });

  it('a message that will be retried or dead-lettered marks its CONSUMER span failed', async () => {
    await tracing.process({ subject: 's', consumer: 'notifier', deliveryCount: 2, header: () => undefined }, () =>
      Promise.resolve<DeliveryResult>({ event: null, settlement: { action: 'retry', delayMs: 1000 } }),
    );
    expect(finished('process s').status.code).toBe(SpanStatusCode.ERROR);
    expect(finished('process s').parentSpanContext).toBeUndefined();
  });

  it('log lines: with tracing on, a line written in a span carries its trace_id and span_id; outside one, neither', async () => {
    expect((pinoParams('token', 'info').pinoHttp as { mixin?: unknown }).mixin).toBeUndefined();
    installTracing(tracing);
    const { mixin } = pinoParams('token', 'info').pinoHttp as { mixin: () => Record<string, string> };
    let fields: Record<string, string> = {};
    const span = await within('POST /token', () => Promise.resolve((fields = mixin())));
    expect(fields).toEqual({ trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId });
    expect(mixin()).toEqual({});
  });
});
