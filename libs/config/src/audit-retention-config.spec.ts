import { describe, expect, it } from '@jest/globals';
import { DEFAULT_AUDIT_RETENTION, loadConfig } from './provider-config.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db' };

describe('audit retention settings (CIBA_AUDIT_RETENTION_DAYS, CIBA_AUDIT_PRUNE_INTERVAL_SECONDS)', () => {
  it('keeps the audit trail forever by default, pruning hourly once a retention is set', () => {
    expect(loadConfig(base, 'audit', []).auditRetention).toEqual({ days: 0, intervalSeconds: 3600 });
    expect(DEFAULT_AUDIT_RETENTION).toEqual({ days: 0, intervalSeconds: 3600 });
    expect(loadConfig({ ...base, CIBA_AUDIT_RETENTION_DAYS: '400', CIBA_AUDIT_PRUNE_INTERVAL_SECONDS: '600' }, 'audit', []).auditRetention).toEqual({ days: 400, intervalSeconds: 600 });
  });

  it('refuses a negative, fractional, huge or non-numeric retention, and a prune interval under a minute or over a day, naming the variable', () => {
    for (const bad of ['-1', '1.5', '36501', 'forever', '1e9']) {
      expect(() => loadConfig({ ...base, CIBA_AUDIT_RETENTION_DAYS: bad }, 'audit', [])).toThrow(/CIBA_AUDIT_RETENTION_DAYS/);
    }
    for (const bad of ['59', '86401', 'hourly']) {
      expect(() => loadConfig({ ...base, CIBA_AUDIT_PRUNE_INTERVAL_SECONDS: bad }, 'audit', [])).toThrow(/CIBA_AUDIT_PRUNE_INTERVAL_SECONDS/);
    }
  });
});
