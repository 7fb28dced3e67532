import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type NewCallbackDelivery, callbackDeliveryId } from '@ciba/domain';
import { TypeOrmAuthRequestRepository, TypeOrmCallbackDeliveryRepository } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';
import { type ScratchDatabase as TestDatabase, createScratchDatabase as createTestDatabase } from '../src/index.js';

describe('TypeOrmCallbackDeliveryRepository', () => {
  let db: TestDatabase;
  let deliveries: TypeOrmCallbackDeliveryRepository;
  let requests: TypeOrmAuthRequestRepository;
  let clientId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    deliveries = new TypeOrmCallbackDeliveryRepository(db.dataSource);
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
    clientId = (await registeredClient(db.dataSource, { backchannelTokenDeliveryMode: 'push', backchannelClientNotificationEndpoint: 'https://rp.example/cb' })).clientId;
  });
  afterAll(async () => {
    await db.drop();
  });

  async function request(status: 'approved' | 'denied' = 'approved') {
    const r = anAuthRequest(clientId, { deliveryMode: 'push', status, decidedAt: at(1), denialReason: status === 'denied' ? 'CANCELLED' : null });
    await requests.create(r);
    return r;
  }
  const delivery = (requestId: string, trigger: 'approved' | 'denied' = 'approved'): NewCallbackDelivery => ({
    id: callbackDeliveryId(requestId, trigger),
    requestId,
    clientId,
    trigger,
    kind: trigger === 'approved' ? 'push_tokens' : 'push_error',
    endpoint: 'https://rp.example/cb',
    encryptedMessage: 'v1.sealed',
    createdAt: at(2),
  });

  it('ensure is idempotent: the first stored delivery wins', async () => {
    const r = await request('denied');
    const first = await deliveries.ensure(delivery(r.id, 'denied'));
    const second = await deliveries.ensure({ ...delivery(r.id, 'denied'), encryptedMessage: 'v1.other' });
    expect(second).toEqual(first);
    expect(first).toMatchObject({ status: 'pending', attempts: 0, encryptedMessage: 'v1.sealed' });
  });

  it('CIBA §10.3 push: redeems the request and stores tokens and delivery together, once under concurrency', async () => {
    const r = await request();
    const token = (n: number) => ({ tokenHash: `rt-${r.id}-${n}`, clientId, subject: r.subject, scope: ['openid', 'offline_access'], authTime: at(1), acr: null, amr: [], expiresAt: at(9999), requestId: r.id, authorizationDetails: null });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => deliveries.ensureRedeemed({ ...delivery(r.id), encryptedMessage: `v1.sealed-${n}` }, at(3), token(n))),
    );
    // Every caller sees the same stored delivery: the one whose transaction redeemed the request.
    const messages = new Set(results.map((d) => d?.encryptedMessage));
    expect(messages.size).toBe(1);
    const stored = await db.dataSource.query<{ token_hash: string }[]>('SELECT token_hash FROM refresh_tokens WHERE request_id = $1', [r.id]);
    expect(stored).toHaveLength(1);
    expect([...messages][0]).toBe(`v1.sealed-${stored[0].token_hash.split('-').pop()}`);
    const [{ status }] = await db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [r.id]);
    expect(status).toBe('redeemed');
  });

  it('ensureRedeemed answers null for a request that was never approved', async () => {
    const r = await request('denied');
    await expect(deliveries.ensureRedeemed(delivery(r.id), at(3), null)).resolves.toBeNull();
  });

  it('a delivery succeeds at most once; failed ones can be reopened by an operator', async () => {
    const r = await request('denied');
    const d = await deliveries.ensure(delivery(r.id, 'denied'));
    await deliveries.recordAttempt(d.id, 'http_503');
    await expect(Promise.all([deliveries.markDelivered(d.id, at(4)), deliveries.markDelivered(d.id, at(5))])).resolves.toEqual(
      expect.arrayContaining([true, false]),
    );
    expect(await deliveries.find(d.id)).toMatchObject({ status: 'delivered', attempts: 1, lastError: null });

    const other = await request('denied');
    const failed = await deliveries.ensure(delivery(other.id, 'denied'));
    await deliveries.markFailed(failed.id, 'http_401');
    expect((await deliveries.listFailed(100)).map((x) => x.id)).toContain(failed.id);
    await expect(deliveries.reopen(failed.id)).resolves.toBe(true);
    await expect(deliveries.reopen(failed.id)).resolves.toBe(false);
    expect(await deliveries.find(failed.id)).toMatchObject({ status: 'pending', lastError: 'http_401' });
  });
});
