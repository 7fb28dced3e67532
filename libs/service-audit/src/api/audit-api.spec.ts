import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { FormParams, OAuthError } from '@ciba/protocol';
import { AuditCursors } from './audit-cursor.js';
import { MAX_EXPORT_RECORDS, filtersFingerprint, parseAuditQuery } from './audit-query.params.js';
import { ocsfAuthentication } from './ocsf.js';

const params = (values: Record<string, string>) => new FormParams(Object.entries(values));
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof OAuthError ? { error: err.error, status: err.status } : { thrown: String(err) };
  }
  return null;
};

describe('audit API cursors', () => {
  const key = randomBytes(32).toString('base64url');
  const cursors = new AuditCursors(key);
  const position = { requestedAt: '2031-05-01T10:00:00.123456Z', requestId: randomUUID() };
  const filters = filtersFingerprint({ clientId: 'rp-1' });

  it('opens what it sealed, for the same filters, under the same key on any replica', () => {
    const cursor = cursors.seal(position, filters);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new AuditCursors(key).open(cursor, filters)).toEqual(position);
    expect(cursors.open(cursors.seal({ requestedAt: null, requestId: 'x' }, filters), filters)).toEqual({ requestedAt: null, requestId: 'x' });
  });

  it('refuses as invalid_request a cursor with any byte changed, other filters, another key, or not base64url', () => {
    const cursor = cursors.seal(position, filters);
    const bytes = Buffer.from(cursor, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i] ^= 0x01;
      expect(refusal(() => cursors.open(altered.toString('base64url'), filters))).toEqual({ error: 'invalid_request', status: 400 });
    }
    expect(refusal(() => cursors.open(cursor, filtersFingerprint({ clientId: 'rp-2' })))).toEqual({ error: 'invalid_request', status: 400 });
    expect(refusal(() => new AuditCursors(randomBytes(32).toString('base64url')).open(cursor, filters))).toEqual({ error: 'invalid_request', status: 400 });
    for (const bad of ['', '=', `${cursor}=`, 'a+b/', 'x'.repeat(1000), cursor.slice(0, 20)]) {
      expect(refusal(() => cursors.open(bad, filters))).toEqual({ error: 'invalid_request', status: 400 });
    }
  });
});

describe('audit API filters', () => {
  it('normalizes every filter and applies the default page size', () => {
    expect(parseAuditQuery(params({ client_id: 'rp', sub: 'alice', decision: 'pending', from: '2031-05-01', to: '2031-05-01T12:00:00+02:00' }), 'page')).toEqual({
      filters: { clientId: 'rp', subject: 'alice', decision: 'pending', from: new Date('2031-05-01T00:00:00Z'), to: new Date('2031-05-01T10:00:00Z') },
      limit: 100,
    });
    expect(parseAuditQuery(params({}), 'export').limit).toBe(MAX_EXPORT_RECORDS);
  });

  it('refuses unknown parameters, out-of-range limits, bad dates and decisions without echoing the value', () => {
    for (const values of <Record<string, string>[]>[{ subject: 'x' }, { limit: '0' }, { limit: '501' }, { from: 'now' }, { decision: "approved' OR 1=1" }, { from: '2031-02-02', to: '2031-02-01' }]) {
      let description = '';
      try {
        parseAuditQuery(params(values), 'page');
      } catch (err) {
        expect(err).toBeInstanceOf(OAuthError);
        expect((err as OAuthError).error).toBe('invalid_request');
        description = (err as OAuthError).description;
      }
      expect(description).not.toBe('');
      expect(description).not.toContain("OR 1=1");
    }
  });
});

describe('OCSF fields of an export line', () => {
  it('maps decisions to OCSF statuses and names the user only by its hint hash', () => {
    const record = { request_id: 'r', client_id: 'rp', user_hint_hash: 'h', requested_at: '2031-05-01T10:00:00.000Z', updated_at: '2031-05-01T10:00:05.000Z', correlation_id: null, denial_reason: null };
    const of = (extra: Record<string, unknown>) => ocsfAuthentication({ ...record, ...extra } as never);
    expect(of({ decision: 'approved' })).toMatchObject({ class_uid: 3002, category_uid: 3, time: Date.parse(record.requested_at), status_id: 1, user: { uid: 'h' }, actor: { app_uid: 'rp' } });
    expect(of({ decision: 'denied', denial_reason: 'CANCELLED' })).toMatchObject({ status_id: 2, status_detail: 'CANCELLED' });
    expect(of({ decision: 'expired' })).toMatchObject({ status_id: 2, status_detail: 'expired' });
    expect(of({ decision: null, requested_at: null })).toMatchObject({ status_id: 0, status: 'Unknown', time: Date.parse(record.updated_at) });
  });
});
