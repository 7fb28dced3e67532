import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { AuthReqIds } from './auth-req-id.js';

const key = randomBytes(32).toString('base64');
const authReqIds = new AuthReqIds(key);

describe('AuthReqIds', () => {
  it('§7.3 issues a URL-safe handle that refers to the request, the same one each time', () => {
    const requestId = randomUUID();
    const authReqId = authReqIds.issue(requestId, 'rp-1');
    expect(authReqId).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(authReqIds.issue(requestId, 'rp-1')).toBe(authReqId);
    expect(new AuthReqIds(key).verify(authReqId, 'rp-1')).toBe(requestId);
  });

  it('§7.3 distinct requests get distinct handles', () => {
    const handles = new Set(Array.from({ length: 1000 }, () => authReqIds.issue(randomUUID(), 'rp-1')));
    expect(handles.size).toBe(1000);
  });

  it('forgery: a handle with a valid shape but a wrong MAC refers to nothing', () => {
    const authReqId = authReqIds.issue(randomUUID(), 'rp-1');
    const bytes = Buffer.from(authReqId, 'base64url');
    for (const index of [0, 15, 16, 47]) {
      const forged = Buffer.from(bytes);
      forged[index] = forged[index] ^ 0x01;
      expect(authReqIds.verify(forged.toString('base64url'), 'rp-1')).toBeNull();
    }
    // A request id someone read in a log, with a MAC they made up.
    expect(authReqIds.verify(Buffer.concat([bytes.subarray(0, 16), randomBytes(32)]).toString('base64url'), 'rp-1')).toBeNull();
  });

  it('another client’s handle refers to nothing', () => {
    const authReqId = authReqIds.issue(randomUUID(), 'rp-1');
    expect(authReqIds.verify(authReqId, 'rp-2')).toBeNull();
  });

  it('a handle from another key-encryption key refers to nothing', () => {
    const authReqId = new AuthReqIds(randomBytes(32).toString('base64')).issue(randomUUID(), 'rp-1');
    expect(authReqIds.verify(authReqId, 'rp-1')).toBeNull();
  });

  it('malformed handles refer to nothing', () => {
    const authReqId = authReqIds.issue(randomUUID(), 'rp-1');
    for (const malformed of ['', 'abc', authReqId.slice(1), `${authReqId}A`, `${authReqId.slice(0, 63)}=`, `${authReqId.slice(0, 63)}+`, randomBytes(32).toString('base64url')]) {
      expect(authReqIds.verify(malformed, 'rp-1')).toBeNull();
    }
  });

  it('refers only to UUID request ids', () => {
    expect(() => authReqIds.issue('not-a-uuid', 'rp-1')).toThrow('UUID');
  });
});
