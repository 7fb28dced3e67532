import { describe, expect, it } from '@jest/globals';
import { ConfigError } from './provider-config.js';
import { loadTracingConfig } from './tracing-config.js';

const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

describe('loadTracingConfig', () => {
  it('tracing is off without an OTLP endpoint: nothing else turns it on', () => {
    expect(loadTracingConfig({}, 'token')).toBeNull();
    expect(loadTracingConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }, 'token')).toBeNull();
  });

  it('either endpoint turns it on; the service name defaults to ciba-<service>, the protocol to http/protobuf (the OTLP default)', () => {
    expect(loadTracingConfig(endpoint, 'callback-dispatcher')).toEqual({ serviceName: 'ciba-callback-dispatcher', protocol: 'http/protobuf' });
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, 'token')).toEqual({
      serviceName: 'ciba-token',
      protocol: 'http/protobuf',
    });
  });

  it('OTEL_SERVICE_NAME names the service; the traces protocol wins over the general one', () => {
    const config = loadTracingConfig(
      { ...endpoint, OTEL_SERVICE_NAME: 'ciba-token-eu', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' },
      'token',
    );
    expect(config).toEqual({ serviceName: 'ciba-token-eu', protocol: 'http/json' });
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off with an endpoint set', () => {
    expect(loadTracingConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }, 'token')).toBeNull();
    expect(loadTracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }, 'token')).toBeNull();
    expect(loadTracingConfig({ ...endpoint, OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' }, 'token')).not.toBeNull();
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    [{ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported'],
    [{ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/xml' }, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'],
    [{ ...endpoint, OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER'],
    [{ ...endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG'],
    [{ ...endpoint, OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER'],
  ])('a malformed setting stops the start with a configuration error naming it: %p', (env, named) => {
    expect(() => loadTracingConfig(env, 'token')).toThrow(ConfigError);
    expect(() => loadTracingConfig(env, 'token')).toThrow(named);
  });

  it('is checked even when tracing would be off, so a typo is not silently ignored', () => {
    expect(() => loadTracingConfig({ OTEL_TRACES_SAMPLER: 'alwayson' }, 'token')).toThrow(/OTEL_TRACES_SAMPLER/);
  });
});
