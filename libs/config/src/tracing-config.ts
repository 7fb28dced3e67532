import { z } from 'zod';
import { ConfigError, type ServiceName } from './provider-config.js';

/**
 * Tracing reads the OpenTelemetry SDK's standard variables (`OTEL_*`), checked here once at boot
 * like every other setting. It is on only when an OTLP endpoint is configured: a service that exports
 * nowhere loads no OpenTelemetry code at all. `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
 * turn it off again with the endpoint set.
 */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export interface TracingConfig {
  /** `service.name` of every span: OTEL_SERVICE_NAME, or `ciba-<service>`. */
  readonly serviceName: string;
  /** OTLP over HTTP, protobuf (the OTLP default) or JSON. */
  readonly protocol: OtlpProtocol;
}

const url = z.string().url().regex(/^https?:\/\//, 'must be an http:// or https:// URL');
const protocol = z
  .string()
  .refine((value) => value !== 'grpc', 'grpc is not supported: use http/protobuf or http/json (OTLP over HTTP, port 4318)')
  .pipe(z.enum(OTLP_PROTOCOLS))
  .optional();

const tracingSchema = z.object({
  OTEL_SDK_DISABLED: z.enum(['true', 'false', '']).optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none', '']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  OTEL_SERVICE_NAME: z.string().min(1).max(255).optional(),
  OTEL_TRACES_SAMPLER: z.enum(TRACES_SAMPLERS).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
});

/**
 * The tracing settings of `service`, or null when tracing is off. Throws `ConfigError` naming each
 * malformed variable. The exporter and the SDK read the variables themselves (endpoints, headers,
 * timeouts, sampler, batch sizes); this only refuses what they would silently ignore or misread.
 */
export function loadTracingConfig(env: Record<string, string | undefined>, service: ServiceName): TracingConfig | null {
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('OTEL_') && value !== undefined && value !== ''));
  const parsed = tracingSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  const e = parsed.data;
  if (e.OTEL_SDK_DISABLED === 'true' || e.OTEL_TRACES_EXPORTER === 'none') return null;
  if (!e.OTEL_EXPORTER_OTLP_ENDPOINT && !e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return null;
  return {
    serviceName: e.OTEL_SERVICE_NAME ?? `ciba-${service}`,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
  };
}
