import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthenticatedClient } from '@ciba/domain';
import { TypeOrmAuthRequestRepository, TypeOrmUserRepository } from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';

describe('TypeOrmAuthRequestRepository', () => {
  let db: TestDatabase;
  let repository: TypeOrmAuthRequestRepository;
  let client: AuthenticatedClient;
  let otherClient: AuthenticatedClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    repository = new TypeOrmAuthRequestRepository(db.dataSource);
    client = await registeredClient(db.dataSource);
    otherClient = await registeredClient(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function created(overrides: Parameters<typeof anAuthRequest>[1] = {}) {
    const request = anAuthRequest(client.clientId, overrides);
    await repository.create(request);
    return request;
  }

  describe('create / findById', () => {
    it('round-trips every field', async () => {
      const request = await created({
        scope: ['openid', 'email'],
        acrValues: ['urn:acr:high', 'urn:acr:low'],
        bindingMessage: 'W4SCT',
        hintType: 'id_token_hint',
        deliveryMode: 'ping',
        sealedClientNotificationToken: 'v1.iv.tag.sealed-cnt-1',
        correlationId: 'corr-1',
      });
      await expect(repository.findById(request.id)).resolves.toEqual(request);
    });

    it('returns null for an unknown id', async () => {
      await expect(repository.findById('00000000-0000-4000-8000-000000000000')).resolves.toBeNull();
    });

    it('refuses a second request with the same id (the id every auth_req_id refers to)', async () => {
      const request = await created();
      await expect(repository.create({ ...anAuthRequest(client.clientId), id: request.id })).rejects.toThrow();
    });
  });

  describe('forClient (every lookup scoped to the authenticated client)', () => {
    it('finds the client’s own request by the id its auth_req_id refers to', async () => {
      const request = await created();
      await expect(repository.forClient(client).find(request.id)).resolves.toEqual(request);
    });

    it('CIBA §11 invalid_grant for another client’s auth_req_id: find, recordPoll and redeem see nothing', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1) });
      const other = repository.forClient(otherClient);
      await expect(other.find(request.id)).resolves.toBeNull();
      await expect(other.recordPoll(request.id, at(2), 5, null)).resolves.toBeNull();
      await expect(other.recordPoll(request.id, at(2), 5, null)).resolves.toBeNull();
      const untouched = await repository.findById(request.id);
      expect(untouched).toEqual(request);
    });
  });

  describe('createForUser (bc-authorize in one statement)', () => {
    const users = () => new TypeOrmUserRepository(db.dataSource);
    const base = { name: null, emailVerified: true, phoneNumber: null, phoneNumberVerified: false, channelPreference: null };
    const accepted = () => {
      const { subject: _subject, ...rest } = anAuthRequest(client.clientId);
      return rest;
    };

    it('§7.1 login_hint: stores the request for the user the hint names (sub, then email, then phone) and returns their sub', async () => {
      await users().upsert({ ...base, sub: 'hinted-1', email: 'Hinted.One@example.com', phoneNumber: '+1 (555) 555-0111' });
      for (const loginHint of ['hinted-1', 'hinted.one@EXAMPLE.com', '+15555550111']) {
        const request = accepted();
        await expect(repository.createForUser(request, { loginHint })).resolves.toBe('hinted-1');
        await expect(repository.findById(request.id)).resolves.toEqual({ ...request, subject: 'hinted-1' });
      }
    });

    it('§7.1 unknown_user_id: a hint that names nobody, or an email shared by two users, stores nothing', async () => {
      await users().upsert({ ...base, sub: 'twin-1', email: 'twins@example.com' });
      await users().upsert({ ...base, sub: 'twin-2', email: 'twins@example.com' });
      for (const hint of [{ loginHint: 'nobody@example.com' }, { loginHint: 'twins@example.com' }, { loginHint: '  ' }, { sub: 'no-such-sub' }]) {
        const request = accepted();
        await expect(repository.createForUser(request, hint)).resolves.toBeNull();
        await expect(repository.findById(request.id)).resolves.toBeNull();
      }
    });
  });

  describe('recordPoll (CIBA §11 slow_down)', () => {
    it('stores the first poll, flags a poll within the interval and grows the interval, accepts one after it', async () => {
      const request = await created({ interval: 5 });
      const polls = repository.forClient(client);

      const first = await polls.recordPoll(request.id, at(10), 5, null);
      expect(first).toMatchObject({ tooSoon: false, request: { lastPolledAt: at(10), interval: 5 } });

      const tooSoon = await polls.recordPoll(request.id, at(14), 5, null);
      expect(tooSoon).toMatchObject({ tooSoon: true, request: { lastPolledAt: at(10), interval: 10 } });

      // 10 s after the last accepted poll: exactly the (grown) interval, so allowed.
      const next = await polls.recordPoll(request.id, at(20), 5, null);
      expect(next).toMatchObject({ tooSoon: false, request: { lastPolledAt: at(20), interval: 10 } });
    });

    it('CIBA §11 slow_down: 20 concurrent recordPoll calls → exactly one not tooSoon; the interval grows by the increment for each too-soon poll', async () => {
      const request = await created({ interval: 5 });
      const polls = repository.forClient(client);

      const results = await Promise.all(Array.from({ length: 20 }, () => polls.recordPoll(request.id, at(30), 5, null)));

      expect(results.filter((result) => result?.tooSoon === false)).toHaveLength(1);
      const slowDownIntervals = results.filter((result) => result?.tooSoon).map((result) => result?.request.interval);
      expect([...slowDownIntervals].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(Array.from({ length: 19 }, (_, i) => 5 + 5 * (i + 1)));
      await expect(repository.findById(request.id)).resolves.toMatchObject({ lastPolledAt: at(30), interval: 5 + 19 * 5 });
    });

    it('counts no polls once the request is decided: tooSoon false, nothing changed', async () => {
      const request = await created({ status: 'denied', decidedAt: at(1), denialReason: 'CANCELLED', lastPolledAt: at(9), interval: 5 });
      const polls = repository.forClient(client);
      const record = await polls.recordPoll(request.id, at(10), 5, null);
      expect(record).toEqual({ tooSoon: false, request, user: null, redeemed: false });
    });

    it('reads the end-user in the same statement: the token endpoint needs their claims, and no second round trip', async () => {
      const user = { sub: 'poll-user', name: 'Poll User', email: 'poll@example.com', emailVerified: true, phoneNumber: '+15555550100', phoneNumberVerified: false, channelPreference: ['email' as const] };
      await new TypeOrmUserRepository(db.dataSource).upsert(user);
      const request = await created({ subject: 'poll-user', status: 'approved', decidedAt: at(1) });
      await expect(repository.forClient(client).recordPoll(request.id, at(10), 5, null)).resolves.toEqual({ tooSoon: false, request: { ...request, status: 'redeemed', redeemedAt: at(10) }, user, redeemed: true });
    });

    it('returns null for an unknown request', async () => {
      await expect(repository.forClient(client).recordPoll('00000000-0000-4000-8000-000000000000', at(1), 5, null)).resolves.toBeNull();
    });
  });

  describe('recordPoll of an approved request: the redemption (CIBA §11 tokens issued once)', () => {
    const seed = (hash: string) => ({ tokenHash: hash, expiresAt: at(3600) });
    const tokens = async (requestId: string) =>
      (await db.dataSource.query<{ token_hash: string }[]>('SELECT token_hash FROM refresh_tokens WHERE request_id = $1', [requestId])).map((r) => r.token_hash);

    it('moves approved → redeemed once: the first poll redeems, the next finds it redeemed', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1) });
      const polls = repository.forClient(client);
      await expect(polls.recordPoll(request.id, at(2), 5, null)).resolves.toMatchObject({ redeemed: true, request: { ...request, status: 'redeemed', redeemedAt: at(2) } });
      await expect(polls.recordPoll(request.id, at(3), 5, null)).resolves.toMatchObject({ redeemed: false, request: { status: 'redeemed', redeemedAt: at(2) } });
    });

    it('redeems nothing that is not approved', async () => {
      const pending = await created();
      const denied = await created({ status: 'denied', decidedAt: at(1), denialReason: 'CANCELLED' });
      await expect(repository.forClient(client).recordPoll(pending.id, at(2), 5, seed(`rt-p-${pending.id}`))).resolves.toMatchObject({ redeemed: false, request: { status: 'pending' } });
      await expect(repository.forClient(client).recordPoll(denied.id, at(2), 5, seed(`rt-d-${denied.id}`))).resolves.toMatchObject({ redeemed: false, request: { status: 'denied' } });
      expect([...(await tokens(pending.id)), ...(await tokens(denied.id))]).toEqual([]);
    });

    it('stores the refresh token in the same statement, only for the winner and only with offline_access', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1), scope: ['openid', 'offline_access'], acr: 'urn:acr:x', amr: ['hwk'] });
      const polls = repository.forClient(client);
      await expect(polls.recordPoll(request.id, at(2), 5, seed(`rt-win-${request.id}`))).resolves.toMatchObject({ redeemed: true });
      await expect(polls.recordPoll(request.id, at(3), 5, seed(`rt-lose-${request.id}`))).resolves.toMatchObject({ redeemed: false });
      const [stored] = await db.dataSource.query<Record<string, unknown>[]>('SELECT * FROM refresh_tokens WHERE request_id = $1', [request.id]);
      expect(stored).toMatchObject({ token_hash: `rt-win-${request.id}`, client_id: client.clientId, subject: request.subject, scope: ['openid', 'offline_access'], auth_time: at(1), acr: 'urn:acr:x', amr: ['hwk'], expires_at: at(3600) });
      expect(await tokens(request.id)).toHaveLength(1);

      const withoutOffline = await created({ status: 'approved', decidedAt: at(1), scope: ['openid'] });
      await expect(polls.recordPoll(withoutOffline.id, at(2), 5, seed(`rt-none-${withoutOffline.id}`))).resolves.toMatchObject({ redeemed: true });
      expect(await tokens(withoutOffline.id)).toEqual([]);
    });

    it('a failing refresh token insert leaves the request approved (both or neither)', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1), scope: ['openid', 'offline_access'] });
      const polls = repository.forClient(client);
      await db.dataSource.query(
        'INSERT INTO refresh_tokens (token_hash, client_id, subject, scope, auth_time, expires_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [`rt-dup-${request.id}`, client.clientId, 'x', ['openid'], at(1), at(3600), request.id],
      );
      await expect(polls.recordPoll(request.id, at(2), 5, seed(`rt-dup-${request.id}`))).rejects.toThrow();
      await expect(repository.findById(request.id)).resolves.toMatchObject({ status: 'approved', redeemedAt: null });
    });

    it('undoRedemption: tokens that could not be minted give the request back, approved, without its refresh token', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1), scope: ['openid', 'offline_access'] });
      const polls = repository.forClient(client);
      await polls.recordPoll(request.id, at(2), 5, seed(`rt-undo-${request.id}`));
      await polls.undoRedemption(request.id, at(3), `rt-undo-${request.id}`); // not this redemption: nothing undone
      await expect(repository.findById(request.id)).resolves.toMatchObject({ status: 'redeemed' });
      await polls.undoRedemption(request.id, at(2), `rt-undo-${request.id}`);
      await expect(repository.findById(request.id)).resolves.toMatchObject({ status: 'approved', redeemedAt: null });
      expect(await tokens(request.id)).toEqual([]);
      await expect(polls.recordPoll(request.id, at(4), 5, null)).resolves.toMatchObject({ redeemed: true });
    });

    it('CIBA §11 tokens issued once: 50 concurrent polls of an approved request → one redemption', async () => {
      const request = await created({ status: 'approved', decidedAt: at(1), scope: ['openid', 'offline_access'] });
      const polls = repository.forClient(client);
      const results = await Promise.all(Array.from({ length: 50 }, (_, n) => polls.recordPoll(request.id, at(2), 5, seed(`rt-c${n}-${request.id}`))));
      expect(results.filter((result) => result?.redeemed)).toHaveLength(1);
      expect(await tokens(request.id)).toHaveLength(1);
    });
  });

  describe('decide', () => {
    it('approves a pending request', async () => {
      const request = await created();
      await expect(repository.decide(request.id, { kind: 'approve' }, at(5))).resolves.toEqual({
        ...request,
        status: 'approved',
        decidedAt: at(5),
      });
    });

    it('denies with the reason', async () => {
      const request = await created();
      await expect(repository.decide(request.id, { kind: 'deny', reason: 'UNAUTHORIZED' }, at(5))).resolves.toMatchObject({
        status: 'denied',
        decidedAt: at(5),
        denialReason: 'UNAUTHORIZED',
      });
    });

    it('decides only once, also under concurrency', async () => {
      const request = await created();
      const results = await Promise.all([
        repository.decide(request.id, { kind: 'approve' }, at(5)),
        repository.decide(request.id, { kind: 'deny', reason: 'CANCELLED' }, at(5)),
        repository.decide(request.id, { kind: 'approve' }, at(5)),
      ]);
      expect(results.filter((result) => result !== null)).toHaveLength(1);
      await expect(repository.decide(request.id, { kind: 'approve' }, at(6))).resolves.toBeNull();
    });

    it('refuses after expiry, leaving the request for the sweeper', async () => {
      const request = await created({ expiresAt: at(60) });
      await expect(repository.decide(request.id, { kind: 'approve' }, at(60))).resolves.toBeNull();
      await expect(repository.findById(request.id)).resolves.toMatchObject({ status: 'pending', decidedAt: null });
    });
  });

  describe('markNotified', () => {
    it('records the first notification time only', async () => {
      const request = await created();
      await repository.markNotified(request.id, at(1));
      await repository.markNotified(request.id, at(7));
      await expect(repository.findById(request.id)).resolves.toMatchObject({ notifiedAt: at(1) });
    });
  });

  describe('sweeper queries', () => {
    // A separate time window per test keeps the rows of other tests out of the way.
    it('expireDue moves only due pending rows, oldest expiry first, at most `limit`', async () => {
      const base = 100_000;
      const dueA = await created({ createdAt: at(base), expiresAt: at(base + 10) });
      const dueB = await created({ createdAt: at(base), expiresAt: at(base + 20) });
      const dueC = await created({ createdAt: at(base), expiresAt: at(base + 30) });
      const notYet = await created({ createdAt: at(base), expiresAt: at(base + 1000) });
      const approved = await created({ createdAt: at(base), expiresAt: at(base + 10), status: 'approved', decidedAt: at(base + 1) });
      const now = at(base + 100);
      await db.dataSource.query(`UPDATE auth_requests SET status = 'expired' WHERE expires_at < $1 AND status = 'pending'`, [at(base)]);

      const first = await repository.expireDue(now, 2);
      expect(first.map((request) => request.id).sort()).toEqual([dueA.id, dueB.id].sort());
      expect(first.every((request) => request.status === 'expired')).toBe(true);

      const second = await repository.expireDue(now, 10);
      expect(second.map((request) => request.id)).toEqual([dueC.id]);
      await expect(repository.expireDue(now, 10)).resolves.toEqual([]);

      await expect(repository.findById(notYet.id)).resolves.toMatchObject({ status: 'pending' });
      await expect(repository.findById(approved.id)).resolves.toMatchObject({ status: 'approved' });
    });

    it('expireDue from concurrent sweepers expires each row once (SKIP LOCKED)', async () => {
      const base = 200_000;
      await db.dataSource.query(`UPDATE auth_requests SET status = 'expired' WHERE status = 'pending' AND expires_at < $1`, [at(base)]);
      const due = await Promise.all(Array.from({ length: 30 }, () => created({ createdAt: at(base), expiresAt: at(base + 1) })));
      const results = await Promise.all(Array.from({ length: 5 }, () => repository.expireDue(at(base + 10), 10)));
      const ids = results.flat().map((request) => request.id);
      expect(new Set(ids).size).toBe(ids.length);
      await expect(repository.expireDue(at(base + 10), 100)).resolves.toHaveLength(30 - ids.length);
      expect(ids.every((id) => due.some((request) => request.id === id))).toBe(true);
    });

    it('findUnnotified lists pending requests no notifier took up, created before the cut-off, oldest first', async () => {
      const base = 300_000;
      await db.dataSource.query(`UPDATE auth_requests SET status = 'expired' WHERE status = 'pending'`);
      const older = await created({ createdAt: at(base), expiresAt: at(base + 600) });
      const old = await created({ createdAt: at(base + 1), expiresAt: at(base + 600) });
      const notified = await created({ createdAt: at(base), expiresAt: at(base + 600), notifiedAt: at(base + 1) });
      const recent = await created({ createdAt: at(base + 50), expiresAt: at(base + 600) });
      const decided = await created({ createdAt: at(base), expiresAt: at(base + 600), status: 'denied', decidedAt: at(base + 2), denialReason: 'CANCELLED' });
      // A notifier is still retrying this one: it issued a decision token but has not reached the device.
      const retrying = await created({ createdAt: at(base), expiresAt: at(base + 600) });
      await db.dataSource.query(`INSERT INTO decision_tokens (token_hash, request_id, channel, expires_at) VALUES ($1, $2, 'http', $3)`, [
        `hash-${retrying.id}`,
        retrying.id,
        at(base + 600),
      ]);

      const found = await repository.findUnnotified(at(base + 10), 10);
      expect(found.map((request) => request.id)).toEqual([older.id, old.id]);
      await expect(repository.findUnnotified(at(base + 10), 1)).resolves.toHaveLength(1);
      expect([notified.id, recent.id, decided.id, retrying.id].some((id) => found.some((request) => request.id === id))).toBe(false);
    });
  });
});
