import { parseRetryAfter } from '@ciba/outbound';

/** A provider's Retry-After header (RFC 9110 §10.2.3), whatever shape the SDK hands it over in, in ms. */
export function retryAfterMs(value: unknown, now: Date = new Date()): number | null {
  const header = typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  return parseRetryAfter(header, now.getTime());
}
