import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RefreshTokenRecord } from '@ciba/domain';
import { TypeOrmRefreshTokenRepository } from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { at } from './fixtures.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('TypeOrmRefreshTokenRepository', () => {
  let repository: TypeOrmRefreshTokenRepository;
  const token = (overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
    tokenHash: `rt-${randomUUID()}`,
    clientId: 'rp-1',
    subject: 'alice',
    scope: ['openid', 'offline_access'],
    authTime: at(0),
    acr: 'urn:acr:high',
    amr: ['pop', 'user', 'mfa'],
    expiresAt: at(3600),
    requestId: randomUUID(),
    authorizationDetails: null,
    ...overrides,
  });

  beforeAll(() => {
    repository = new TypeOrmRefreshTokenRepository(db.dataSource);
  });

  // The store adds the time it stored the token (its issue time).
  const stored = (record: RefreshTokenRecord) => ({ ...record, issuedAt: expect.any(Date) });
  const active = (record: RefreshTokenRecord) => ({ kind: 'active', record: stored(record) });
  const used = (record: RefreshTokenRecord) => ({ kind: 'used', requestId: record.requestId });
  const invalid = { kind: 'invalid' };

  it('finds an unused, unexpired token of the client only', async () => {
    const saved = token({ acr: null });
    await repository.save(saved);
    await expect(repository.find('rp-1', saved.tokenHash, at(10))).resolves.toEqual(active(saved));
    await expect(repository.find('rp-2', saved.tokenHash, at(10))).resolves.toEqual(invalid);
    await expect(repository.find('rp-1', saved.tokenHash, at(3600))).resolves.toEqual(invalid);
    await expect(repository.find('rp-1', 'unknown', at(10))).resolves.toEqual(invalid);
  });

  it('rotates: returns the old record, stores the next, and the old one is then known as used', async () => {
    const old = token();
    const next = token({ requestId: old.requestId });
    await repository.save(old);
    await expect(repository.rotate('rp-1', old.tokenHash, next, at(10))).resolves.toEqual({ kind: 'rotated', previous: stored(old) });
    await expect(repository.find('rp-1', next.tokenHash, at(10))).resolves.toEqual(active(next));
    await expect(repository.find('rp-1', old.tokenHash, at(10))).resolves.toEqual(used(old));
    // Still a replay after its own lifetime: the grant it was rotated into may be alive.
    await expect(repository.find('rp-1', old.tokenHash, at(3600))).resolves.toEqual(used(old));
    await expect(repository.find('rp-2', old.tokenHash, at(10))).resolves.toEqual(invalid);
    await expect(repository.rotate('rp-1', old.tokenHash, token({ requestId: old.requestId }), at(11))).resolves.toEqual(used(old));
    const [row] = await db.dataSource.query('SELECT used_at, replaced_by, revoked_at FROM refresh_tokens WHERE token_hash = $1', [old.tokenHash]);
    expect(row).toEqual({ used_at: at(10), replaced_by: next.tokenHash, revoked_at: null });
  });

  it('RFC 9396 stores the authorization details with the token and its successor', async () => {
    const authorizationDetails = [{ type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: 'EUR', amount: '12.00' } }];
    const old = token({ authorizationDetails });
    const next = token({ requestId: old.requestId, authorizationDetails });
    await repository.save(old);
    await expect(repository.find('rp-1', old.tokenHash, at(10))).resolves.toEqual(active(old));
    await expect(repository.rotate('rp-1', old.tokenHash, next, at(10))).resolves.toEqual({ kind: 'rotated', previous: stored(old) });
    await expect(repository.find('rp-1', next.tokenHash, at(10))).resolves.toMatchObject({ kind: 'active', record: { authorizationDetails } });
  });

  it('refuses to rotate another client’s, an expired or an unknown token, or into another grant, storing nothing', async () => {
    const old = token({ expiresAt: at(100) });
    await repository.save(old);
    const next = token({ requestId: old.requestId });
    await expect(repository.rotate('rp-2', old.tokenHash, next, at(10))).resolves.toEqual(invalid);
    await expect(repository.rotate('rp-1', old.tokenHash, next, at(100))).resolves.toEqual(invalid);
    await expect(repository.rotate('rp-1', 'unknown', next, at(10))).resolves.toEqual(invalid);
    await expect(repository.rotate('rp-1', old.tokenHash, token(), at(10))).resolves.toEqual(invalid);
    await expect(repository.find('rp-1', next.tokenHash, at(10))).resolves.toEqual(invalid);
    await expect(repository.find('rp-1', old.tokenHash, at(10))).resolves.toEqual(active(old));
  });

  it('is single use under concurrency: 20 concurrent rotations → one successor stored, the others see the token used', async () => {
    const old = token();
    await repository.save(old);
    const successors = Array.from({ length: 20 }, () => token({ requestId: old.requestId }));
    const results = await Promise.all(successors.map((next) => repository.rotate('rp-1', old.tokenHash, next, at(10))));
    expect(results.filter((result) => result.kind === 'rotated')).toHaveLength(1);
    expect(results.filter((result) => result.kind === 'used')).toHaveLength(19);
    const stored: unknown[] = await db.dataSource.query('SELECT token_hash FROM refresh_tokens WHERE token_hash = ANY($1)', [
      successors.map((s) => s.tokenHash),
    ]);
    expect(stored).toHaveLength(1);
  });

  it('revokes once; the consumed token is then known as used', async () => {
    const saved = token();
    await repository.save(saved);
    await expect(repository.revoke('rp-2', saved.tokenHash, at(10))).resolves.toBe(false);
    const results = await Promise.all([1, 2, 3].map(() => repository.revoke('rp-1', saved.tokenHash, at(10))));
    expect(results.filter(Boolean)).toHaveLength(1);
    await expect(repository.find('rp-1', saved.tokenHash, at(10))).resolves.toEqual(used(saved));
  });

  describe('RFC 9700 §4.14.2 revoking a grant’s family', () => {
    it('revokes every token of the grant, the current one included, and nothing of another grant or client', async () => {
      const first = token();
      const second = token({ requestId: first.requestId });
      const bystander = token();
      await repository.save(first);
      await repository.save(bystander);
      await repository.rotate('rp-1', first.tokenHash, second, at(10));

      await expect(repository.revokeFamily('rp-2', first.requestId, at(20))).resolves.toBe(0);
      await expect(repository.find('rp-1', second.tokenHash, at(20))).resolves.toEqual(active(second));

      await expect(repository.revokeFamily('rp-1', first.requestId, at(20))).resolves.toBe(1);
      await expect(repository.find('rp-1', second.tokenHash, at(20))).resolves.toEqual(invalid);
      await expect(repository.rotate('rp-1', second.tokenHash, token({ requestId: first.requestId }), at(21))).resolves.toEqual(invalid);
      await expect(repository.revoke('rp-1', second.tokenHash, at(21))).resolves.toBe(false);
      await expect(repository.find('rp-1', bystander.tokenHash, at(20))).resolves.toEqual(active(bystander));
      // Presenting the rotated token again is still a replay; revoking again changes nothing.
      await expect(repository.find('rp-1', first.tokenHash, at(30))).resolves.toEqual(used(first));
      await expect(repository.revokeFamily('rp-1', first.requestId, at(30))).resolves.toBe(0);
      const rows = await db.dataSource.query<{ revoked_at: Date }[]>('SELECT revoked_at FROM refresh_tokens WHERE request_id = $1', [first.requestId]);
      expect(rows.map((r) => r.revoked_at)).toEqual([at(20), at(20)]);
    });

    it('a rotation racing the revocation never leaves a live successor', async () => {
      for (let round = 0; round < 15; round++) {
        const current = token();
        await repository.save(current);
        const next = token({ requestId: current.requestId });
        const [rotation] = await Promise.all([
          repository.rotate('rp-1', current.tokenHash, next, at(10)),
          repository.revokeFamily('rp-1', current.requestId, at(10)),
        ]);
        expect(['rotated', 'invalid']).toContain(rotation.kind);
        await expect(repository.find('rp-1', next.tokenHash, at(11))).resolves.toEqual(invalid);
        await expect(repository.find('rp-1', current.tokenHash, at(11))).resolves.not.toEqual(active(current));
      }
    });
  });
});
