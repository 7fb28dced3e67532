import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { Injectable } from '@nestjs/common';
import { decide, effectiveStatus, type AuthRequest } from './auth-request.js';

@Injectable()
class Probe {}

describe('smoke', () => {
  it('nest + esm', async () => {
    const m = await Test.createTestingModule({ providers: [Probe] }).compile();
    expect(m.get(Probe)).toBeInstanceOf(Probe);
    const now = new Date();
    const r = { status: 'pending', expiresAt: new Date(now.getTime() + 1000) } as AuthRequest;
    expect(effectiveStatus(r, now)).toBe('pending');
    expect(decide(r, { kind: 'approve' }, now).status).toBe('approved');
  });
});
