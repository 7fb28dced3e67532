import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '@ciba/config';
import type { FlowTracing } from './flow-tracing.js';
import { OtelFlowTracing } from './otel-flow-tracing.js';
import { UrlScrubbingSpanProcessor, matchedRoute } from './span-hygiene.js';

/** Probes and scrapes: a span each would bury the flows. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Starts the OpenTelemetry SDK: W3C Trace Context propagation, the sampler of OTEL_TRACES_SAMPLER
 * (parent-based by default, so a flow's later steps follow its first one's decision), spans batched
 * to the OTLP/HTTP endpoint of the OTEL_EXPORTER_OTLP_* variables, and the instrumentations of
 * incoming and outgoing HTTP (node:http), of undici (the device channel and client callbacks) and of
 * PostgreSQL (pg, statements with placeholders only, never their values).
 *
 * Must run before `http` and `pg` are first loaded: they are patched as they load. ES modules are
 * intercepted by import-in-the-middle's loader hook, told about the instrumented modules only.
 */
export async function startOpenTelemetry(config: TracingConfig): Promise<FlowTracing> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  const exporter = config.protocol === 'http/json' ? new OtlpJsonExporter() : new OtlpProtobufExporter();
  const provider = new NodeTracerProvider({
    resource,
    // The scrubber comes first: it rewrites URL attributes before the batch processor takes the span.
    spanProcessors: [new UrlScrubbingSpanProcessor(), new BatchSpanProcessor(exporter)],
  });
  provider.register();

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        // The route pattern names the server span (`POST /approve/:token`), never the path itself.
        applyCustomAttributesOnSpan: (span, request) => {
          const route = matchedRoute(request);
          if (route === null || !('method' in request) || typeof request.method !== 'string') return;
          span.setAttribute(ATTR_HTTP_ROUTE, route);
          span.updateName(`${request.method} ${route}`);
        },
      }),
      new UndiciInstrumentation(),
      // Only statements of traced work: the sweeper's and the key refresher's would each start a trace.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  await waitForAllMessagesAcknowledged();
  return new OtelFlowTracing(trace.getTracer('ciba-provider'), () => provider.shutdown());
}
