import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthenticatedClient, AuthRequest, Decision } from '@ciba/domain';
import { TypeOrmAuthRequestRepository, TypeOrmDecisionTokenRepository } from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';
import { waitFor } from './wait-for.js';

const APPROVE: Decision = { kind: 'approve' };
const DENY: Decision = { kind: 'deny', reason: 'UNAUTHORIZED' };

describe('decision tokens: using the token and deciding the request are one statement', () => {
  let db: TestDatabase;
  let tokens: TypeOrmDecisionTokenRepository;
  let requests: TypeOrmAuthRequestRepository;
  let client: AuthenticatedClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    tokens = new TypeOrmDecisionTokenRepository(db.dataSource);
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
    client = await registeredClient(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  /** A request (pending, expiring at 120 s) with one token per channel, each hashed as `<id>:<channel>`. */
  async function requestWithTokens(overrides: Partial<AuthRequest> = {}, channels = ['http', 'approval-link']): Promise<{ request: AuthRequest; hash: (channel: string) => string }> {
    const request = anAuthRequest(client.clientId, overrides);
    await requests.create(request);
    const hash = (channel: string) => `${request.id}:${channel}`;
    for (const channel of channels) await tokens.save({ tokenHash: hash(channel), requestId: request.id, channel, expiresAt: request.expiresAt });
    return { request, hash };
  }

  it('finds a token with its request, only on the channel it was issued for', async () => {
    const { request, hash } = await requestWithTokens();
    await expect(tokens.findWithRequest(hash('http'), 'http')).resolves.toEqual({
      token: { tokenHash: hash('http'), requestId: request.id, channel: 'http', expiresAt: request.expiresAt, usedAt: null, decision: null },
      request,
    });
    await expect(tokens.findWithRequest(hash('http'), 'approval-link')).resolves.toBeNull();
    await expect(tokens.findWithRequest('unknown', 'http')).resolves.toBeNull();
  });

  it('decides the request and uses the token together, recording on the token which decision it applied', async () => {
    const { request, hash } = await requestWithTokens();
    const result = await tokens.decide(hash('http'), 'http', APPROVE, at(5));
    expect(result).toMatchObject({
      applied: true,
      request: { id: request.id, status: 'approved', decidedAt: at(5), denialReason: null },
      token: { tokenHash: hash('http'), usedAt: at(5), decision: 'approved' },
    });
    await expect(requests.findById(request.id)).resolves.toMatchObject({ status: 'approved', decidedAt: at(5) });
    await expect(tokens.find(hash('http'))).resolves.toMatchObject({ usedAt: at(5), decision: 'approved' });
  });

  it('a denial records its reason, a step-up approval its acr and amr', async () => {
    const denied = await requestWithTokens();
    await expect(tokens.decide(denied.hash('http'), 'http', { kind: 'deny', reason: 'CANCELLED' }, at(5))).resolves.toMatchObject({
      applied: true,
      request: { status: 'denied', denialReason: 'CANCELLED' },
      token: { decision: 'denied' },
    });
    const stepped = await requestWithTokens();
    await expect(tokens.decide(stepped.hash('approval-link'), 'approval-link', { kind: 'approve', stepUp: { acr: 'phr', amr: ['pop', 'user', 'mfa'] } }, at(5))).resolves.toMatchObject({
      applied: true,
      request: { status: 'approved', acr: 'phr', amr: ['pop', 'user', 'mfa'] },
    });
  });

  it('lost approvals: a retry with a used token changes nothing and reports the decision the token recorded', async () => {
    const { request, hash } = await requestWithTokens();
    await tokens.decide(hash('http'), 'http', APPROVE, at(5));
    for (const decision of [APPROVE, DENY]) {
      await expect(tokens.decide(hash('http'), 'http', decision, at(6))).resolves.toMatchObject({
        applied: false,
        request: { status: 'approved', decidedAt: at(5) },
        token: { usedAt: at(5), decision: 'approved' },
      });
    }
    // Even once the request is redeemed and past its lifetime: the token still says what it decided.
    await db.dataSource.query(`UPDATE auth_requests SET status = 'redeemed', redeemed_at = $2 WHERE id = $1`, [request.id, at(7)]);
    await expect(tokens.decide(hash('http'), 'http', APPROVE, at(500))).resolves.toMatchObject({ applied: false, request: { status: 'redeemed' }, token: { decision: 'approved' } });
  });

  it('lost approvals: two tokens of one request decided at once — one decision wins, the other is told the decision that stands and its token is not used up', async () => {
    for (let round = 0; round < 10; round++) {
      const { request, hash } = await requestWithTokens();
      const [byDevice, byPage] = await Promise.all([tokens.decide(hash('http'), 'http', APPROVE, at(5)), tokens.decide(hash('approval-link'), 'approval-link', DENY, at(5))]);
      const results = [byDevice!, byPage!];
      expect(results.filter((r) => r.applied)).toHaveLength(1);
      const winner = results.find((r) => r.applied)!;
      const loser = results.find((r) => !r.applied)!;
      // The loser sees the winner's committed decision, not its own snapshot of a pending request.
      expect(loser.request).toMatchObject({ id: request.id, status: winner.request.status, decidedAt: at(5) });
      expect(loser.token).toMatchObject({ usedAt: null, decision: null });
      await expect(tokens.find(loser.token.tokenHash)).resolves.toMatchObject({ usedAt: null, decision: null });
      await expect(requests.findById(request.id)).resolves.toMatchObject({ status: winner.request.status });
    }
  });

  it('a decision that waited for another one to commit sees it, rather than its own stale snapshot of a pending request', async () => {
    const { request, hash } = await requestWithTokens();
    const winner = db.dataSource.createQueryRunner();
    await winner.connect();
    await winner.startTransaction();
    try {
      await winner.query(`UPDATE auth_requests SET status = 'denied', decided_at = $2, denial_reason = 'CANCELLED' WHERE id = $1`, [request.id, at(4)]);
      const waiting = tokens.decide(hash('http'), 'http', APPROVE, at(5));
      await waitFor(async () => {
        const blocked = await db.dataSource.query<unknown[]>(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH token AS MATERIALIZED%'`);
        return blocked.length > 0;
      });
      await winner.commitTransaction();
      await expect(waiting).resolves.toMatchObject({ applied: false, request: { status: 'denied', denialReason: 'CANCELLED' }, token: { usedAt: null, decision: null } });
    } finally {
      await winner.release();
    }
  });

  it('is single use under concurrency: 30 concurrent decisions with one token apply once, and every other call sees that decision', async () => {
    const { request, hash } = await requestWithTokens();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => tokens.decide(hash('http'), 'http', i % 2 === 0 ? APPROVE : DENY, at(5))));
    expect(results.filter((r) => r?.applied)).toHaveLength(1);
    const outcome = (await requests.findById(request.id))!.status;
    for (const result of results) expect(result).toMatchObject({ request: { status: outcome }, token: { decision: outcome } });
  });

  it('leaves the token unused when the request is no longer pending, or the token or request has expired', async () => {
    const decidedElsewhere = await requestWithTokens({ status: 'denied', decidedAt: at(2), denialReason: 'RATE_LIMITED' });
    await expect(tokens.decide(decidedElsewhere.hash('http'), 'http', APPROVE, at(5))).resolves.toMatchObject({
      applied: false,
      request: { status: 'denied', denialReason: 'RATE_LIMITED' },
      token: { usedAt: null, decision: null },
    });
    const expired = await requestWithTokens();
    await expect(tokens.decide(expired.hash('http'), 'http', APPROVE, at(120))).resolves.toMatchObject({ applied: false, request: { status: 'pending' }, token: { usedAt: null } });
    const tokenExpired = await requestWithTokens({}, []);
    await tokens.save({ tokenHash: tokenExpired.hash('http'), requestId: tokenExpired.request.id, channel: 'http', expiresAt: at(10) });
    await expect(tokens.decide(tokenExpired.hash('http'), 'http', APPROVE, at(10))).resolves.toMatchObject({ applied: false, token: { usedAt: null } });
    for (const { request } of [expired, tokenExpired]) await expect(requests.findById(request.id)).resolves.toMatchObject({ status: 'pending' });
  });

  it('an unknown token, or one issued for another channel, decides nothing', async () => {
    const { request, hash } = await requestWithTokens();
    await expect(tokens.decide('unknown', 'http', APPROVE, at(5))).resolves.toBeNull();
    await expect(tokens.decide(hash('http'), 'approval-link', APPROVE, at(5))).resolves.toBeNull();
    await expect(requests.findById(request.id)).resolves.toMatchObject({ status: 'pending' });
    await expect(tokens.find(hash('http'))).resolves.toMatchObject({ usedAt: null });
  });

  it('lost approvals: a failure inside the decision (an injected trigger error) leaves the token unused, so the retry can still decide', async () => {
    const { request, hash } = await requestWithTokens();
    await db.dataSource.query(`CREATE FUNCTION refuse_decision() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await db.dataSource.query(
      `CREATE TRIGGER refuse_decision BEFORE UPDATE ON auth_requests FOR EACH ROW WHEN (OLD.id = '${request.id}' AND NEW.status <> OLD.status) EXECUTE FUNCTION refuse_decision()`,
    );
    try {
      await expect(tokens.decide(hash('http'), 'http', APPROVE, at(5))).rejects.toThrow(/injected failure/);
      await expect(tokens.find(hash('http'))).resolves.toMatchObject({ usedAt: null, decision: null });
    } finally {
      await db.dataSource.query('DROP TRIGGER refuse_decision ON auth_requests');
      await db.dataSource.query('DROP FUNCTION refuse_decision()');
    }
    await expect(tokens.decide(hash('http'), 'http', APPROVE, at(6))).resolves.toMatchObject({ applied: true, request: { status: 'approved' } });
  });

  it('the database refuses a token used without a decision, or a decision without use', async () => {
    const { hash } = await requestWithTokens();
    await expect(db.dataSource.query(`UPDATE decision_tokens SET used_at = $2 WHERE token_hash = $1`, [hash('http'), at(1)])).rejects.toThrow(/ck_decision_tokens_used_with_decision/);
    await expect(db.dataSource.query(`UPDATE decision_tokens SET decision = 'approved' WHERE token_hash = $1`, [hash('http')])).rejects.toThrow(/ck_decision_tokens_used_with_decision/);
  });

  describe('the outcome outbox', () => {
    // Its own time window, far from the other tests' rows.
    const base = 1_000_000;
    const listed = async (before: Date, ids: readonly string[]) =>
      (await requests.findUnpublishedOutcomes(before, 1000)).map((r) => r.id).filter((id) => ids.includes(id));

    it('lists decided and expired requests whose event was not confirmed, settled before the cut-off, oldest first, until marked published', async () => {
      const approved = await requestWithTokens({ createdAt: at(base), expiresAt: at(base + 600) });
      await tokens.decide(approved.hash('http'), 'http', APPROVE, at(base + 20));
      const denied = await requestWithTokens({ createdAt: at(base), expiresAt: at(base + 600) });
      await tokens.decide(denied.hash('http'), 'http', DENY, at(base + 10));
      const expired = await requestWithTokens({ createdAt: at(base), expiresAt: at(base + 5) });
      await requests.expireDue(at(base + 6), 1000);
      const pending = await requestWithTokens({ createdAt: at(base), expiresAt: at(base + 600) });
      const ids = [approved, denied, expired, pending].map((r) => r.request.id);

      expect(await listed(at(base + 30), ids)).toEqual([expired.request.id, denied.request.id, approved.request.id]);
      // Settled at or after the cut-off: not yet (the decider is probably still publishing).
      expect(await listed(at(base + 10), ids)).toEqual([expired.request.id]);

      await requests.markOutcomePublished([denied.request.id, expired.request.id], at(base + 31));
      expect(await listed(at(base + 30), ids)).toEqual([approved.request.id]);
      // A redeemed request whose approval was never announced is still listed.
      await db.dataSource.query(`UPDATE auth_requests SET status = 'redeemed', redeemed_at = $2 WHERE id = $1`, [approved.request.id, at(base + 25)]);
      expect(await listed(at(base + 30), ids)).toEqual([approved.request.id]);
      await requests.markOutcomePublished([approved.request.id], at(base + 32));
      expect(await listed(at(base + 100), ids)).toEqual([]);
    });

    it('marking keeps the first confirmation time, and an empty list is no statement', async () => {
      const { request, hash } = await requestWithTokens({ createdAt: at(base), expiresAt: at(base + 600) });
      await tokens.decide(hash('http'), 'http', APPROVE, at(base + 1));
      await requests.markOutcomePublished([request.id], at(base + 2));
      await requests.markOutcomePublished([request.id], at(base + 3));
      await requests.markOutcomePublished([], at(base + 4));
      const [row] = await db.dataSource.query<{ outcome_published_at: Date }[]>('SELECT outcome_published_at FROM auth_requests WHERE id = $1', [request.id]);
      expect(row.outcome_published_at).toEqual(at(base + 2));
    });
  });
});
