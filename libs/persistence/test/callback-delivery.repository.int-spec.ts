import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AuthRequest, type FirstAttempt, type NewCallbackDelivery, callbackDeliveryId } from '@ciba/domain';
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

  /** A stored delivery whose creator's lease has already ended (at(2)): free to claim from at(3) on. */
  const stored = async (d: NewCallbackDelivery) => (await deliveries.ensure(d, at(2))).delivery;

  it('ensure is idempotent: the first stored delivery wins, and only its creator holds the first attempt', async () => {
    const r = await request('denied');
    const first = await deliveries.ensure(delivery(r.id, 'denied'), at(20));
    const second = await deliveries.ensure({ ...delivery(r.id, 'denied'), encryptedMessage: 'v1.other' }, at(21));
    expect(first).toMatchObject({ claimed: true, delivery: { status: 'pending', attempts: 0, encryptedMessage: 'v1.sealed', attemptLeaseUntil: at(20) } });
    expect(second).toEqual({ claimed: false, delivery: first.delivery });
    // The creator's lease holds off other claims until it ends.
    await expect(deliveries.claimAttempt(first.delivery.id, at(19), at(36))).resolves.toMatchObject({ claimed: false });
  });

  it('of concurrent creators of one delivery, exactly one holds its first attempt', async () => {
    const r = await request('denied');
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => deliveries.ensure({ ...delivery(r.id, 'denied'), encryptedMessage: `v1.sealed-${n}` }, at(20 + n))));
    const winners = results.filter((c) => c.claimed);
    expect(winners).toHaveLength(1);
    expect(new Set(results.map((c) => c.delivery.encryptedMessage))).toEqual(new Set([winners[0].delivery.encryptedMessage]));
  });

  describe('openFirstAttempt: the request read and its ping callback stored claimed, in one statement', () => {
    const first = (requestId: string, overrides: Partial<FirstAttempt> = {}): FirstAttempt => ({
      requestId,
      id: callbackDeliveryId(requestId, 'approved'),
      trigger: 'approved',
      endpoint: 'https://rp.example/cb',
      pingWanted: true,
      now: at(3),
      leaseUntil: at(20),
      ...overrides,
    });
    const ping = async (overrides: Partial<AuthRequest> = {}) => {
      const r = anAuthRequest(clientId, { deliveryMode: 'ping', status: 'approved', decidedAt: at(1), sealedClientNotificationToken: 'v1.sealed-bearer', ...overrides });
      await requests.create(r);
      return r;
    };

    it('§10.2 a ping request: the callback is stored with the request’s sealed token, its first attempt claimed; a second call finds it stored', async () => {
      const r = await ping();
      const opened = await deliveries.openFirstAttempt(first(r.id));
      expect(opened.request).toEqual(r);
      expect(opened.created).toMatchObject({ claimed: true, delivery: { kind: 'ping', encryptedMessage: 'v1.sealed-bearer', attemptLeaseUntil: at(20), endpoint: 'https://rp.example/cb' } });
      expect(await deliveries.find(callbackDeliveryId(r.id, 'approved'))).toEqual(opened.created?.delivery);
      await expect(deliveries.openFirstAttempt(first(r.id, { leaseUntil: at(21) }))).resolves.toEqual({ request: r, created: null });
    });

    it('stores nothing for a poll or push request, an unwanted ping, a client without endpoint or a request without token', async () => {
      const cases: Array<[Partial<AuthRequest>, Partial<FirstAttempt>]> = [
        [{ deliveryMode: 'poll', sealedClientNotificationToken: null }, {}],
        [{ deliveryMode: 'push' }, {}],
        [{}, { pingWanted: false }],
        [{}, { endpoint: null }],
        [{ sealedClientNotificationToken: null }, {}],
      ];
      for (const [request, attempt] of cases) {
        const r = await ping(request);
        await expect(deliveries.openFirstAttempt(first(r.id, attempt))).resolves.toEqual({ request: r, created: null });
        await expect(deliveries.find(callbackDeliveryId(r.id, 'approved'))).resolves.toBeNull();
      }
      await expect(deliveries.openFirstAttempt(first('00000000-0000-4000-8000-000000000000'))).resolves.toEqual({ request: null, created: null });
    });
  });

  it('CIBA §10.3 push: redeems the request and stores tokens and delivery together, once under concurrency', async () => {
    const r = await request();
    const token = (n: number) => ({ tokenHash: `rt-${r.id}-${n}`, clientId, subject: r.subject, scope: ['openid', 'offline_access'], authTime: at(1), acr: null, amr: [], expiresAt: at(9999), requestId: r.id, authorizationDetails: null });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => deliveries.ensureRedeemed({ ...delivery(r.id), encryptedMessage: `v1.sealed-${n}` }, at(3), token(n), at(20))),
    );
    // Every caller sees the same stored delivery: the one whose transaction redeemed the request, and which holds its first attempt.
    expect(results.filter((c) => c?.claimed)).toHaveLength(1);
    const messages = new Set(results.map((c) => c?.delivery.encryptedMessage));
    expect(messages.size).toBe(1);
    const stored = await db.dataSource.query<{ token_hash: string }[]>('SELECT token_hash FROM refresh_tokens WHERE request_id = $1', [r.id]);
    expect(stored).toHaveLength(1);
    expect([...messages][0]).toBe(`v1.sealed-${stored[0].token_hash.split('-').pop()}`);
    const [{ status }] = await db.dataSource.query<{ status: string }[]>('SELECT status FROM auth_requests WHERE id = $1', [r.id]);
    expect(status).toBe('redeemed');
  });

  it('ensureRedeemed answers null for a request that was never approved', async () => {
    const r = await request('denied');
    await expect(deliveries.ensureRedeemed(delivery(r.id), at(3), null, at(20))).resolves.toBeNull();
  });

  it('a delivery succeeds at most once; failed ones can be reopened by an operator', async () => {
    const r = await request('denied');
    const d = await stored(delivery(r.id, 'denied'));
    const first = (await deliveries.claimAttempt(d.id, at(3), at(20)))!;
    expect(first).toMatchObject({ claimed: true, delivery: { attemptLeaseUntil: at(20) } });
    await expect(deliveries.finishAttempt(d.id, at(20), { status: 'pending', error: 'http_503' })).resolves.toBe(false);
    expect(await deliveries.find(d.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: 'http_503', attemptLeaseUntil: null });
    await deliveries.claimAttempt(d.id, at(4), at(21));
    await expect(Promise.all([
      deliveries.finishAttempt(d.id, at(21), { status: 'delivered', at: at(5) }),
      deliveries.finishAttempt(d.id, at(21), { status: 'delivered', at: at(6) }),
    ])).resolves.toEqual(expect.arrayContaining([true, false]));
    expect(await deliveries.find(d.id)).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, attemptLeaseUntil: null });
    await expect(deliveries.claimAttempt(d.id, at(7), at(24))).resolves.toMatchObject({ claimed: false, delivery: { status: 'delivered' } });

    const other = await request('denied');
    const failed = await stored(delivery(other.id, 'denied'));
    await deliveries.claimAttempt(failed.id, at(3), at(20));
    await expect(deliveries.finishAttempt(failed.id, at(20), { status: 'failed', error: 'http_401' })).resolves.toBe(true);
    expect((await deliveries.listFailed(100)).map((x) => x.id)).toContain(failed.id);
    await expect(deliveries.claimAttempt(failed.id, at(21), at(40))).resolves.toMatchObject({ claimed: false });
    await expect(deliveries.reopen(failed.id)).resolves.toBe(true);
    await expect(deliveries.reopen(failed.id)).resolves.toBe(false);
    expect(await deliveries.find(failed.id)).toMatchObject({ status: 'pending', lastError: 'http_401' });
  });

  describe('double delivery: one attempt at a time, however often the bus redelivers', () => {
    it('of concurrent claims of one pending delivery, exactly one wins; the others see its lease', async () => {
      const r = await request('denied');
      const d = await stored(delivery(r.id, 'denied'));
      const claims = await Promise.all(Array.from({ length: 8 }, (_, n) => deliveries.claimAttempt(d.id, at(3), at(20 + n))));
      const winners = claims.filter((c) => c?.claimed);
      expect(winners).toHaveLength(1);
      const lease = winners[0]!.delivery.attemptLeaseUntil;
      for (const loser of claims.filter((c) => !c?.claimed)) {
        expect(loser).toMatchObject({ claimed: false, delivery: { status: 'pending', attemptLeaseUntil: lease } });
      }
      expect((await deliveries.find(d.id))?.attemptLeaseUntil).toEqual(lease);
    });

    it('a lease still running refuses a claim; an expired one (its holder died) can be claimed again', async () => {
      const r = await request('denied');
      const d = await stored(delivery(r.id, 'denied'));
      await expect(deliveries.claimAttempt(d.id, at(3), at(20))).resolves.toMatchObject({ claimed: true });
      await expect(deliveries.claimAttempt(d.id, at(19), at(36))).resolves.toMatchObject({ claimed: false, delivery: { attemptLeaseUntil: at(20) } });
      await expect(deliveries.claimAttempt(d.id, at(20), at(37))).resolves.toMatchObject({ claimed: true, delivery: { attemptLeaseUntil: at(37) } });
    });

    it('an attempt that outlived its lease records its outcome but does not release the lease of the attempt that took over', async () => {
      const r = await request('denied');
      const d = await stored(delivery(r.id, 'denied'));
      await deliveries.claimAttempt(d.id, at(3), at(20));
      await deliveries.claimAttempt(d.id, at(21), at(38));
      await deliveries.finishAttempt(d.id, at(20), { status: 'pending', error: 'timeout' });
      expect(await deliveries.find(d.id)).toMatchObject({ attempts: 1, attemptLeaseUntil: at(38) });
      await expect(deliveries.claimAttempt(d.id, at(22), at(39))).resolves.toMatchObject({ claimed: false });
    });

    it('there is nothing to claim before the delivery is stored', async () => {
      const r = await request('denied');
      await expect(deliveries.claimAttempt(callbackDeliveryId(r.id, 'denied'), at(3), at(20))).resolves.toBeNull();
    });
  });
});
