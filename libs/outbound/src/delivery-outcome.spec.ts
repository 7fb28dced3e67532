import { describe, expect, it } from '@jest/globals';
import { outcomeForError, outcomeForStatus } from './delivery-outcome.js';

const NOW = Date.parse('2025-06-01T12:00:00Z');

describe('outcomeForStatus (CIBA §10.2/§10.3 notification answers)', () => {
  it.each([200, 201, 202, 204])('%i is delivered', (status) => {
    expect(outcomeForStatus(status, undefined, 5, NOW)).toEqual({ kind: 'delivered', status, latencyMs: 5 });
  });

  it.each([
    [408, 'request_timeout'],
    [425, 'too_early'],
    [429, 'rate_limited'],
    [500, 'server_error'],
    [502, 'server_error'],
    [503, 'server_error'],
    [504, 'server_error'],
  ])('%i is retryable (%s)', (status, reason) => {
    expect(outcomeForStatus(status, undefined, 5, NOW)).toEqual({ kind: 'retryable', reason, status, retryAfterMs: null, latencyMs: 5 });
  });

  it('carries Retry-After (RFC 9110 §10.2.3) on a retryable answer', () => {
    expect(outcomeForStatus(429, '7', 5, NOW)).toMatchObject({ kind: 'retryable', retryAfterMs: 7_000 });
    expect(outcomeForStatus(503, 'Sun, 01 Jun 2025 12:00:02 GMT', 5, NOW)).toMatchObject({ kind: 'retryable', retryAfterMs: 2_000 });
  });

  it.each([301, 302, 303, 307, 308])('%i is a permanent failure, never followed', (status) => {
    expect(outcomeForStatus(status, undefined, 5, NOW)).toEqual({ kind: 'permanent', reason: 'redirect_not_followed', status, latencyMs: 5 });
  });

  it.each([
    [400, 'client_error'],
    [401, 'unauthorized'],
    [403, 'unauthorized'],
    [404, 'client_error'],
    [405, 'client_error'],
    [410, 'client_error'],
    [413, 'client_error'],
  ])('%i is permanent (%s): RFC 6750 bearer rejections are never retried', (status, reason) => {
    expect(outcomeForStatus(status, '1', 5, NOW)).toEqual({ kind: 'permanent', reason, status, latencyMs: 5 });
  });

  it('treats a status outside 2xx-5xx as permanent', () => {
    expect(outcomeForStatus(600, undefined, 5, NOW)).toMatchObject({ kind: 'permanent', reason: 'unexpected_status' });
  });
});

describe('outcomeForError', () => {
  const withCode = (code: string, message = 'boom'): Error => Object.assign(new Error(message), { code });

  it.each([
    ['ECONNREFUSED', 'connection_refused'],
    ['ECONNRESET', 'connection_reset'],
    ['UND_ERR_SOCKET', 'connection_reset'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout'],
    ['UND_ERR_HEADERS_TIMEOUT', 'response_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'response_timeout'],
    ['EHOSTUNREACH', 'network_unreachable'],
    ['ENOTFOUND', 'dns_failure'],
    ['EAI_AGAIN', 'dns_failure'],
  ])('%s is retryable (%s)', (code, reason) => {
    expect(outcomeForError(withCode(code), 9)).toEqual({ kind: 'retryable', reason, status: null, retryAfterMs: null, latencyMs: 9 });
  });

  it.each(['DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN'])(
    'the certificate error %s is permanent',
    (code) => {
      expect(outcomeForError(withCode(code), 9)).toEqual({ kind: 'permanent', reason: 'tls_certificate_invalid', status: null, latencyMs: 9 });
    },
  );

  it('a TLS protocol error is permanent', () => {
    expect(outcomeForError(withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 9)).toMatchObject({ kind: 'permanent', reason: 'tls_error' });
  });

  it('finds the code in a wrapped cause', () => {
    expect(outcomeForError(new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') }), 9)).toMatchObject({ reason: 'connection_refused' });
  });

  it('treats an unknown error as a retryable network error, without its message', () => {
    const outcome = outcomeForError(new Error('Bearer abc.def leaked?'), 9);
    expect(outcome).toEqual({ kind: 'retryable', reason: 'network_error', status: null, retryAfterMs: null, latencyMs: 9 });
  });
});
