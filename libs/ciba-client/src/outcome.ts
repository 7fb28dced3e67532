/**
 * Pure rules of CIBA polling: what a token endpoint error means to the client (CIBA §11) and how
 * long to wait before the next poll (CIBA §7.3, RFC 8628 §3.5). No I/O, so they are unit tested alone.
 */

/** CIBA §7.3: "If no value is provided, clients MUST use 5 as the default value." */
export const DEFAULT_INTERVAL_SECONDS = 5;

/** RFC 8628 §3.5 (which CIBA §11 refers to): on slow_down the interval grows by 5 seconds. */
export const SLOW_DOWN_INCREMENT_SECONDS = 5;

/** A token endpoint answer that is not tokens, classified per CIBA §11; `null` for any other error. */
export type PendingOutcome =
  | { readonly status: 'pending' }
  | { readonly status: 'slow_down'; readonly interval: number }
  | { readonly status: 'denied'; readonly error: string; readonly description?: string }
  | { readonly status: 'expired'; readonly description?: string };

/**
 * Classifies an OAuth error from the token endpoint. `currentInterval` is the interval the caller
 * has been waiting; on slow_down the new one is that plus 5 s, or the provider's own `interval`
 * member when it sends a larger one (some do, although §11 defines none).
 */
export function classifyTokenError(error: string, description: string | undefined, currentInterval: number, providerInterval?: unknown): PendingOutcome | null {
  const described = description ? { description } : {};
  switch (error) {
    case 'authorization_pending':
      return { status: 'pending' };
    case 'slow_down': {
      const increased = sanitizeInterval(currentInterval) + SLOW_DOWN_INCREMENT_SECONDS;
      const stated = typeof providerInterval === 'number' && Number.isFinite(providerInterval) ? Math.ceil(providerInterval) : 0;
      return { status: 'slow_down', interval: Math.max(increased, stated) };
    }
    case 'access_denied':
      return { status: 'denied', error, ...described };
    case 'expired_token':
      return { status: 'expired', ...described };
    default:
      return null;
  }
}

/**
 * The interval to wait: the provider's, when it gave a usable one, else the §7.3 default. A zero,
 * negative or absurd value is not an invitation to poll in a tight loop.
 */
export function sanitizeInterval(interval: unknown): number {
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 1) return DEFAULT_INTERVAL_SECONDS;
  return Math.min(Math.ceil(interval), 3600);
}

/**
 * How long to wait before the next poll, in milliseconds: never sooner than `intervalSeconds`
 * after `since` (the backchannel request or the previous poll; CIBA §7.3 counts from both), and
 * never past `deadline`. Times in epoch milliseconds.
 */
export function nextPollDelay(now: number, since: number, intervalSeconds: number, deadline: number): number {
  const earliest = since + intervalSeconds * 1000;
  return Math.max(0, Math.min(earliest, deadline) - now);
}
