import { describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { UrlScrubbingSpanProcessor, matchedRoute, recordableUrl } from './span-hygiene.js';

const TOKEN = 'q3JtN1l0dGVzdC1hcHByb3ZhbC10b2tlbi1hYmNkZWZn';

describe('what spans may record of a URL', () => {
  it('an absolute URL keeps its origin and path: no query string, credentials or fragment, no link token', () => {
    expect(recordableUrl(`https://user:pw@op.example.com/approve/${TOKEN}?key=dev#x`)).toBe('https://op.example.com/approve/[redacted]');
    expect(recordableUrl('https://rp.example.com/cb?token=abc')).toBe('https://rp.example.com/cb');
    expect(recordableUrl('not a url')).toBe('[unparsable url]');
  });

  it('every span’s URL attributes are rewritten before export, whichever instrumentation set them', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({ spanProcessors: [new UrlScrubbingSpanProcessor(), new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('test').startSpan('GET');
    span.setAttributes({
      'http.target': `/enrol/${TOKEN}?x=1`,
      'http.url': `http://127.0.0.1:3000/approve/${TOKEN}`,
      'url.full': 'https://rp.example.com/ping?secret=1',
      'url.path': `/enrol/remove/${TOKEN}`,
      'url.query': 'dev_key=abc',
      'http.route': '/approve/:token',
    });
    span.end();
    expect(exporter.getFinishedSpans()[0].attributes).toEqual({
      'http.target': '/enrol/[redacted]',
      'http.url': 'http://127.0.0.1:3000/approve/[redacted]',
      'url.full': 'https://rp.example.com/ping',
      'url.path': '/enrol/remove/[redacted]',
      'url.query': '[redacted]',
      'http.route': '/approve/:token',
    });
    await provider.shutdown();
  });

  it('a server span is named by the route pattern Express matched, none when no route matched', () => {
    expect(matchedRoute({ route: { path: '/approve/:token' }, baseUrl: '' })).toBe('/approve/:token');
    expect(matchedRoute({ route: { path: '/:id' }, baseUrl: '/devices' })).toBe('/devices/:id');
    expect(matchedRoute({ url: '/nowhere' })).toBeNull();
  });
});
