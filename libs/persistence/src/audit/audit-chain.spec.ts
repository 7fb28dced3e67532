import { describe, expect, it } from '@jest/globals';
import { AUDIT_CHAIN_GENESIS_HASH, type ChainedRow, auditEntryHash, canonicalJson } from './audit-chain.js';

const row: ChainedRow = {
  eventId: 'r-1:auth_request.created',
  type: 'auth_request.created',
  requestId: 'r-1',
  clientId: 'rp',
  deviceId: null,
  subject: 'alice',
  occurredAt: new Date('2030-01-01T00:00:00.000Z'),
  correlationId: 'c-1',
  payload: { version: 1, scope: ['openid'] },
};

describe('audit chain hashing (issue 12 item 3)', () => {
  it('canonical JSON sorts keys at every depth, drops undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, 'é': 'x' })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"é":"x"}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([undefined, null, 'a\u0000"'])).toBe('[null,null,"a\\u0000\\""]');
  });

  it('the entry hash commits to the previous hash, the seq and every column that matters', () => {
    const base = auditEntryHash(AUDIT_CHAIN_GENESIS_HASH, 1, row);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(auditEntryHash(AUDIT_CHAIN_GENESIS_HASH, 1, { ...row, payload: { scope: ['openid'], version: 1 } })).toBe(base);
    const variants: ChainedRow[] = [
      { ...row, eventId: 'r-2:auth_request.created' },
      { ...row, type: 'auth_request.approved' },
      { ...row, requestId: null },
      { ...row, clientId: 'other' },
      { ...row, deviceId: 'd-1' },
      { ...row, subject: 'mallory' },
      { ...row, occurredAt: new Date('2030-01-01T00:00:00.001Z') },
      { ...row, correlationId: null },
      { ...row, payload: { version: 1, scope: ['openid', 'profile'] } },
    ];
    for (const variant of variants) expect(auditEntryHash(AUDIT_CHAIN_GENESIS_HASH, 1, variant)).not.toBe(base);
    expect(auditEntryHash(AUDIT_CHAIN_GENESIS_HASH, 2, row)).not.toBe(base);
    expect(auditEntryHash('1'.repeat(64), 1, row)).not.toBe(base);
  });
});
