import { describe, expect, it } from '@jest/globals';
import { parsePrometheusText, sumSamples } from './prometheus-text.js';

const PAGE = `# HELP ciba_bus_messages_handled_total Lifecycle messages handled.
# TYPE ciba_bus_messages_handled_total counter
ciba_bus_messages_handled_total{consumer="notifier",outcome="ok"} 12
ciba_bus_messages_handled_total{consumer="notifier",outcome="retry"} 1
ciba_bus_messages_handled_total{consumer="audit",outcome="ok"} 40

# TYPE ciba_http_requests_total counter
ciba_http_requests_total{method="POST",route="/bc-authorize",status="200"} 7 1700000000000
ciba_http_requests_total{method="GET",route="/a \\"quoted\\", {braced} path\\\\",status="404",} 2
process_cpu_seconds_total 1.5e-3
ciba_callback_attempt_duration_seconds_bucket{le="+Inf",mode="ping"} 3
nodejs_eventloop_lag_seconds NaN
`;

describe('parsePrometheusText', () => {
  it('reads names, labels (escapes, commas and braces inside values, a trailing comma) and values, skipping comments', () => {
    const samples = parsePrometheusText(PAGE);
    expect(samples).toHaveLength(8);
    expect(samples[0]).toEqual({ name: 'ciba_bus_messages_handled_total', labels: { consumer: 'notifier', outcome: 'ok' }, value: 12 });
    expect(samples[3]).toEqual({ name: 'ciba_http_requests_total', labels: { method: 'POST', route: '/bc-authorize', status: '200' }, value: 7 });
    expect(samples[4]?.labels).toEqual({ method: 'GET', route: '/a "quoted", {braced} path\\', status: '404' });
    expect(samples[5]).toEqual({ name: 'process_cpu_seconds_total', labels: {}, value: 0.0015 });
    expect(samples[6]?.labels['le']).toBe('+Inf');
    expect(samples[7]?.value).toBeNaN();
  });

  it('reads NaN and infinities in any case, as Go\'s float syntax does (prom-client writes an empty mean as Nan)', () => {
    const values = parsePrometheusText('a Nan\nb nan\nc +inf\nd -Inf\ne Inf').map((sample) => sample.value);
    expect(values).toEqual([NaN, NaN, Infinity, -Infinity, Infinity]);
  });

  it('fails on a line it cannot read rather than reading it as nothing', () => {
    expect(() => parsePrometheusText('ciba_x{consumer=notifier} 1')).toThrow(/unreadable labels/);
    expect(() => parsePrometheusText('ciba_x one')).toThrow(/unreadable value/);
    expect(() => parsePrometheusText('{consumer="a"} 1')).toThrow(/not a Prometheus sample/);
  });
});

describe('sumSamples', () => {
  it('adds the samples of one name whose labels include the ones asked for', () => {
    const samples = parsePrometheusText(PAGE);
    expect(sumSamples(samples, 'ciba_bus_messages_handled_total', { consumer: 'notifier' })).toBe(13);
    expect(sumSamples(samples, 'ciba_bus_messages_handled_total', { consumer: 'notifier', outcome: 'ok' })).toBe(12);
    expect(sumSamples(samples, 'ciba_bus_messages_handled_total')).toBe(53);
    expect(sumSamples(samples, 'ciba_bus_messages_handled_total', { consumer: 'callback-dispatcher' })).toBe(0);
  });
});
