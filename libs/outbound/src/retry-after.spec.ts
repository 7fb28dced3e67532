import { describe, expect, it } from '@jest/globals';
import { parseRetryAfter, RETRY_AFTER_CAP_MS } from './retry-after.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('7', NOW)).toBe(7_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', NOW)).toBe(30_000);
  });

  it('reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parseRetryAfter('Sunday, 01-Jun-25 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Sun Jun  1 12:00:10 2025', NOW)).toBe(10_000);
  });

  it('treats a date in the past as "now"', () => {
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', NOW)).toBe(0);
  });

  it('caps far-off answers at one hour', () => {
    expect(parseRetryAfter('86400', NOW)).toBe(RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter('99999999999999999999999', NOW)).toBe(RETRY_AFTER_CAP_MS);
    expect(parseRetryAfter('Mon, 01 Jun 2026 12:00:00 GMT', NOW)).toBe(RETRY_AFTER_CAP_MS);
  });

  it.each([undefined, '', '-5', '1.5', 'soon', '7s', '2025-06-01T12:00:30Z', 'Sun, 01 Jun 2025 12:00:30 +0200'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeNull();
  });

  it('uses the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '9'], NOW)).toBe(3_000);
  });
});
