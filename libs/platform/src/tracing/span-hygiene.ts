import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { loggablePath } from '../logging/logging.js';

/**
 * URL attributes the HTTP instrumentations record (old and stable semantic conventions): they may
 * hold a query string (the development tools' key) or a link token in the path (`/approve/<token>`,
 * `/enrol/<token>`).
 */
const PATH_ATTRIBUTES = ['http.target', 'url.path'];
const FULL_URL_ATTRIBUTES = ['http.url', 'url.full'];
const QUERY_ATTRIBUTES = ['url.query'];

/** A path or path + query as it may be recorded: the query gone, link tokens replaced (as in the logs). */
export function recordablePath(target: string): string {
  return loggablePath(target);
}

/** An absolute URL as it may be recorded: origin and recordable path, no userinfo, query or fragment. */
export function recordableUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${recordablePath(url.pathname)}`;
  } catch {
    return '[unparsable url]';
  }
}

/**
 * Rewrites every span's URL attributes just before it ends (`onEnding`, while the span still takes
 * attributes), whichever instrumentation set them: what reaches the exporter never holds a query
 * string, URL credentials or a link token.
 */
export class UrlScrubbingSpanProcessor implements SpanProcessor {
  onStart(_span: Span, _parentContext: Context): void {}

  onEnding(span: Span): void {
    const attributes = span.attributes;
    for (const key of PATH_ATTRIBUTES) {
      const value = attributes[key];
      if (typeof value === 'string') span.setAttribute(key, recordablePath(value));
    }
    for (const key of FULL_URL_ATTRIBUTES) {
      const value = attributes[key];
      if (typeof value === 'string') span.setAttribute(key, recordableUrl(value));
    }
    for (const key of QUERY_ATTRIBUTES) {
      if (attributes[key] !== undefined) span.setAttribute(key, '[redacted]');
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The route an Express request matched (`/approve/:token`, `/bc-authorize`), or null when none did:
 * the name of its server span (`POST /bc-authorize`), low in cardinality and free of tokens.
 */
export function matchedRoute(request: unknown): string | null {
  const route = (request as { route?: { path?: unknown } } | null)?.route;
  const base = (request as { baseUrl?: unknown } | null)?.baseUrl;
  if (!route || typeof route.path !== 'string') return null;
  return `${typeof base === 'string' ? base : ''}${route.path}`;
}
