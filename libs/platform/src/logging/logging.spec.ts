import { describe, expect, it } from '@jest/globals';
import { correlationIdFrom, loggablePath, pinoParams } from './logging.js';

describe('request logging', () => {
  it('never logs an approval-link or enrolment-link token, nor a query string', () => {
    const token = 'q3JtN1l0dGVzdC1hcHByb3ZhbC10b2tlbi1hYmNkZWZn';
    expect(loggablePath(`/approve/${token}`)).toBe('/approve/[redacted]');
    expect(loggablePath(`/enrol/${token}?x=1`)).toBe('/enrol/[redacted]');
    expect(loggablePath('/token?auth_req_id=secret')).toBe('/token');
    expect(loggablePath(`/enrol/${token}/passkey`)).toBe('/enrol/[redacted]/passkey');
    expect(loggablePath(`/enrol/remove/${token}`)).toBe('/enrol/remove/[redacted]');
  });

  it('keeps paths that hold no secret', () => {
    expect(loggablePath('/enrol/sw.js')).toBe('/enrol/sw.js');
    expect(loggablePath('/approve/assets/step-up.js')).toBe('/approve/assets/step-up.js');
    expect(loggablePath('/bc-authorize')).toBe('/bc-authorize');
  });

  it('takes a well-formed correlation id and mints one otherwise', () => {
    expect(correlationIdFrom('abc-123')).toBe('abc-123');
    expect(correlationIdFrom('bad id with spaces')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('writes ISO 8601 timestamps (UTC), not epoch milliseconds', () => {
    const options = pinoParams('token', 'info').pinoHttp as { timestamp: () => string };
    expect(options.timestamp()).toMatch(/^,"time":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"$/);
  });
});
