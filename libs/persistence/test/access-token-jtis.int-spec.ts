import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthenticatedClient, RefreshTokenRecord } from '@ciba/domain';
import { PostgresAccessTokenRevocations, TypeOrmAuthRequestRepository, TypeOrmRefreshTokenRepository } from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/**
 * Access tokens by jti: recorded by the statement that issues the token (the redemption, a refresh's
 * rotation or consumption), never by one that does not, so a resource server's report finds the
 * token's request as soon as the token is sent.
 */
describe('access token jtis, recorded with the issuing statement', () => {
  let client: AuthenticatedClient;
  let requests: TypeOrmAuthRequestRepository;
  let refreshTokens: TypeOrmRefreshTokenRepository;
  const jti = () => randomUUID().replaceAll('-', '');
  const rows = async (requestId: string) =>
    db.dataSource.query<{ jti: string; client_id: string; expires_at: Date }[]>('SELECT jti, client_id, expires_at FROM access_token_jtis WHERE request_id = $1 ORDER BY issued_at', [requestId]);

  beforeAll(async () => {
    client = await registeredClient(db.dataSource, { scope: ['openid', 'offline_access'] });
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
    refreshTokens = new TypeOrmRefreshTokenRepository(db.dataSource);
  });

  const refreshToken = (requestId: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
    tokenHash: `rt-${randomUUID()}`,
    clientId: client.clientId,
    subject: 'user-1',
    scope: ['openid', 'offline_access'],
    authTime: at(0),
    acr: null,
    amr: [],
    expiresAt: at(3600),
    requestId,
    authorizationDetails: null,
    ...overrides,
  });

  it('CIBA §11 the poll that redeems an approved request records the jti; a pending poll and a second poll do not', async () => {
    const request = anAuthRequest(client.clientId, { status: 'approved', decidedAt: at(5) });
    const pending = anAuthRequest(client.clientId);
    await requests.create(request);
    await requests.create(pending);
    const polls = requests.forClient(client);
    const [first, second, never] = [jti(), jti(), jti()];

    await expect(polls.recordPoll(pending.id, at(6), 5, null, { jti: never, expiresAt: at(606) })).resolves.toMatchObject({ redeemed: false });
    await expect(polls.recordPoll(request.id, at(6), 5, null, { jti: first, expiresAt: at(606) })).resolves.toMatchObject({ redeemed: true });
    await expect(polls.recordPoll(request.id, at(12), 5, null, { jti: second, expiresAt: at(612) })).resolves.toMatchObject({ redeemed: false });

    expect(await rows(request.id)).toEqual([{ jti: first, client_id: client.clientId, expires_at: at(606) }]);
    expect(await rows(pending.id)).toEqual([]);
    expect((await requests.findByAccessTokenJti(first))?.id).toBe(request.id);
    await expect(requests.findByAccessTokenJti(second)).resolves.toBeNull();
    await expect(requests.findByAccessTokenJti(never)).resolves.toBeNull();
  });

  it('RFC 6749 §6 a rotation records the new access token for the grant; a losing (replayed) rotation does not', async () => {
    const request = anAuthRequest(client.clientId, { status: 'redeemed', decidedAt: at(5), redeemedAt: at(6) });
    await requests.create(request);
    const old = refreshToken(request.id);
    await refreshTokens.save(old);
    const [won, lost] = [jti(), jti()];
    await expect(refreshTokens.rotate(client.clientId, old.tokenHash, refreshToken(request.id), at(10), { jti: won, expiresAt: at(610) })).resolves.toMatchObject({ kind: 'rotated' });
    await expect(refreshTokens.rotate(client.clientId, old.tokenHash, refreshToken(request.id), at(11), { jti: lost, expiresAt: at(611) })).resolves.toMatchObject({ kind: 'used' });
    expect((await rows(request.id)).map((row) => row.jti)).toEqual([won]);
    expect((await requests.findByAccessTokenJti(won))?.id).toBe(request.id);
  });

  it('a refresh that consumes its token without a successor (refresh no longer allowed) records the access token too, once', async () => {
    const request = anAuthRequest(client.clientId, { status: 'redeemed', decidedAt: at(5), redeemedAt: at(6) });
    await requests.create(request);
    const old = refreshToken(request.id);
    await refreshTokens.save(old);
    const [issued, refused] = [jti(), jti()];
    await expect(refreshTokens.revoke(client.clientId, old.tokenHash, at(10), { jti: issued, expiresAt: at(610) })).resolves.toBe(true);
    await expect(refreshTokens.revoke(client.clientId, old.tokenHash, at(11), { jti: refused, expiresAt: at(611) })).resolves.toBe(false);
    expect((await rows(request.id)).map((row) => row.jti)).toEqual([issued]);
  });

  it('without an access token to record, the statements behave as before and record nothing', async () => {
    const request = anAuthRequest(client.clientId, { status: 'approved', decidedAt: at(5) });
    await requests.create(request);
    await expect(requests.forClient(client).recordPoll(request.id, at(6), 5, null)).resolves.toMatchObject({ redeemed: true });
    const old = refreshToken(request.id);
    await refreshTokens.save(old);
    await expect(refreshTokens.rotate(client.clientId, old.tokenHash, refreshToken(request.id), at(10))).resolves.toMatchObject({ kind: 'rotated' });
    expect(await rows(request.id)).toEqual([]);
  });

  describe('RFC 7009 revocation', () => {
    let revocations: PostgresAccessTokenRevocations;
    let other: AuthenticatedClient;
    beforeAll(async () => {
      revocations = new PostgresAccessTokenRevocations(db.dataSource);
      other = await registeredClient(db.dataSource);
    });

    async function redeemed(): Promise<{ requestId: string; accessTokenJti: string }> {
      const request = anAuthRequest(client.clientId, { status: 'approved', decidedAt: at(5) });
      await requests.create(request);
      const accessTokenJti = jti();
      await requests.forClient(client).recordPoll(request.id, at(6), 5, null, { jti: accessTokenJti, expiresAt: at(606) });
      return { requestId: request.id, accessTokenJti };
    }

    it('RFC 7009 §2.1 the client revokes its own access token by jti; the first revocation time stays', async () => {
      const { accessTokenJti } = await redeemed();
      const bystander = await redeemed();
      await expect(revocations.isRevoked(accessTokenJti)).resolves.toBe(false);
      await expect(revocations.revoke(client.clientId, accessTokenJti, at(10))).resolves.toBe(true);
      await expect(revocations.revoke(client.clientId, accessTokenJti, at(20))).resolves.toBe(true);
      await expect(revocations.isRevoked(accessTokenJti)).resolves.toBe(true);
      await expect(revocations.isRevoked(bystander.accessTokenJti)).resolves.toBe(false);
      const [row] = await db.dataSource.query<{ revoked_at: Date }[]>('SELECT revoked_at FROM access_token_jtis WHERE jti = $1', [accessTokenJti]);
      expect(row?.revoked_at).toEqual(at(10));
    });

    it('RFC 7009 §2.2 another client’s jti, or one never recorded, is not revoked', async () => {
      const { accessTokenJti } = await redeemed();
      await expect(revocations.revoke(other.clientId, accessTokenJti, at(10))).resolves.toBe(false);
      await expect(revocations.isRevoked(accessTokenJti)).resolves.toBe(false);
      const unknown = jti();
      await expect(revocations.revoke(client.clientId, unknown, at(10))).resolves.toBe(false);
      await expect(revocations.isRevoked(unknown)).resolves.toBe(false);
    });

    it('RFC 7009 §2.1 revoking a refresh-token family revokes every unexpired access token of the grant, and no other grant’s', async () => {
      const { requestId, accessTokenJti: first } = await redeemed();
      const bystander = await redeemed();
      const old = refreshToken(requestId);
      await refreshTokens.save(old);
      const second = jti();
      await refreshTokens.rotate(client.clientId, old.tokenHash, refreshToken(requestId), at(10), { jti: second, expiresAt: at(610) });
      await expect(refreshTokens.revokeFamily(client.clientId, requestId, at(20))).resolves.toBe(1);
      await expect(revocations.isRevoked(first)).resolves.toBe(true);
      await expect(revocations.isRevoked(second)).resolves.toBe(true);
      await expect(revocations.isRevoked(bystander.accessTokenJti)).resolves.toBe(false);
      // Another client naming the grant revokes nothing.
      const third = await redeemed();
      await expect(refreshTokens.revokeFamily(other.clientId, third.requestId, at(20))).resolves.toBe(0);
      await expect(revocations.isRevoked(third.accessTokenJti)).resolves.toBe(false);
    });
  });
});
