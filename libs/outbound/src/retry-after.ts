/** A Retry-After further out than this is treated as this: the caller's retry horizon is bounded anyway. */
export const RETRY_AFTER_CAP_MS = 60 * 60 * 1000;

const DELAY_SECONDS = /^\d+$/;
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** RFC 9110 §5.6.7: IMF-fixdate and the obsolete RFC 850 form, both explicitly GMT. */
const GMT_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d{2} ${MONTH} \\d{4} ${TIME} GMT$|^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, \\d{2}-${MONTH}-\\d{2} ${TIME} GMT$`);
/** The asctime form carries no zone, but HTTP dates are always GMT. */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`);

function parseHttpDate(value: string): number {
  if (GMT_DATE.test(value)) return Date.parse(value);
  if (ASCTIME_DATE.test(value)) return Date.parse(`${value} GMT`);
  return Number.NaN;
}

/**
 * Parses a Retry-After value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as milliseconds
 * from `nowMs`, between 0 (a date in the past) and `RETRY_AFTER_CAP_MS`. Returns null when the
 * header is absent or malformed, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | null {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (raw === undefined || raw === '') return null;
  let delayMs: number;
  if (DELAY_SECONDS.test(raw)) {
    delayMs = Number(raw) * 1000;
  } else {
    const at = parseHttpDate(raw);
    if (Number.isNaN(at)) return null;
    delayMs = at - nowMs;
  }
  return Math.min(Math.max(delayMs, 0), RETRY_AFTER_CAP_MS);
}
