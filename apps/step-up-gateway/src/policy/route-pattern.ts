/** A route's path pattern: literal segments and `:name` parameters, with an optional final `*`. */
export interface RoutePattern {
  readonly source: string;
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string })[];
  readonly params: readonly string[];
  /** A final `*`: any further segments match. */
  readonly rest: boolean;
}

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

export function parseRoutePattern(path: string): RoutePattern {
  if (!path.startsWith('/')) throw new Error('must start with /');
  const parts = path.split('/').slice(1);
  const segments: RoutePattern['segments'][number][] = [];
  const params: string[] = [];
  let rest = false;
  parts.forEach((part, i) => {
    if (part === '*') {
      if (i !== parts.length - 1) throw new Error('* may only be the last segment');
      rest = true;
      return;
    }
    const param = PARAM.exec(part);
    if (param) {
      if (params.includes(param[1])) throw new Error(`parameter :${param[1]} appears twice`);
      params.push(param[1]);
      segments.push({ param: param[1] });
    } else if (part.includes(':') || part.includes('*')) {
      throw new Error(`segment "${part}" is neither a literal nor a :parameter`);
    } else {
      segments.push({ literal: part });
    }
  });
  return { source: path, segments, params, rest };
}

/**
 * Why a request path (no query string) cannot be matched safely, or null. Upstream servers and
 * proxies normalise paths in their own ways (dot segments, repeated or encoded slashes,
 * backslashes): a path they would read as another resource than the one the gateway matched
 * could slip past a protected route as an unmatched one, so such paths are refused outright.
 */
export function nonCanonicalPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'the path must be absolute';
  if (/%2f|%5c|\\/i.test(path)) return 'the path must not hold an encoded slash or a backslash';
  const parts = path.split('/').slice(1);
  for (const [i, part] of parts.entries()) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return 'the path is not valid percent-encoding';
    }
    if (decoded === '.' || decoded === '..') return 'the path must not hold dot segments';
    if (part === '' && i !== parts.length - 1) return 'the path must not hold empty segments';
    if (/[\u0000-\u001f\u007f]/.test(decoded)) return 'the path must not hold control characters';
  }
  return null;
}

/**
 * The route parameters when `path` (no query string, canonical: see `nonCanonicalPathProblem`)
 * matches, else null. Segments are compared after percent-decoding, so `/payments/%31` is
 * `/payments/1`; literals ignore case and a trailing slash is ignored, as most servers route them.
 */
export function matchRoutePattern(pattern: RoutePattern, path: string): Record<string, string> | null {
  const parts = (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).split('/').slice(1);
  if (pattern.rest ? parts.length < pattern.segments.length : parts.length !== pattern.segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, segment] of pattern.segments.entries()) {
    let part: string;
    try {
      part = decodeURIComponent(parts[i]);
    } catch {
      return null;
    }
    if (part.includes('/') || part === '.' || part === '..') return null;
    if ('literal' in segment) {
      if (part.toLowerCase() !== segment.literal.toLowerCase()) return null;
    } else {
      if (part.length === 0) return null;
      params[segment.param] = part;
    }
  }
  return params;
}
