import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthRequest, ClaimToken, PromptLimits } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import {
  PostgresPromptClaims,
  TypeOrmAuthRequestRepository,
  TypeOrmUserRepository,
  createDataSource,
  createScratchDatabase,
  type ScratchDatabase,
} from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';

const MINUTE = 60_000;
const limitsOf = (clientUser: number, client: number, denials = 0): PromptLimits => ({
  clientUser: { limit: clientUser, windowMs: 10 * MINUTE },
  client: { limit: client, windowMs: MINUTE },
  denialBackoff: { threshold: denials, windowMs: 60 * MINUTE, baseMs: 5 * MINUTE, maxMs: 20 * MINUTE },
});
const ON = limitsOf(5, 1000, 3);
const OFF = limitsOf(0, 0, 0);
const tokensFor = (request: AuthRequest): ClaimToken[] => [
  { tokenHash: `${request.id}:http`, channel: 'http' },
  { tokenHash: `${request.id}:approval-link`, channel: 'approval-link' },
];

describe('prompt claims: a notification starts with one statement (request, user, prompt limits, decision tokens)', () => {
  let db: ScratchDatabase;
  let claims: PostgresPromptClaims;
  let requests: TypeOrmAuthRequestRepository;

  beforeAll(async () => {
    db = await createScratchDatabase();
    claims = new PostgresPromptClaims(db.dataSource);
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
    await new TypeOrmUserRepository(db.dataSource).upsert({
      sub: 'alice',
      name: 'Alice',
      email: 'alice@example.com',
      emailVerified: true,
      phoneNumber: null,
      phoneNumberVerified: false,
      channelPreference: ['email', 'http'],
    });
  });
  afterAll(async () => {
    await db.drop();
  });

  const aClient = async () => (await registeredClient(db.dataSource)).clientId;
  async function aRequest(clientId: string, overrides: Partial<AuthRequest> = {}): Promise<AuthRequest> {
    const request = anAuthRequest(clientId, { subject: 'alice', ...overrides });
    await requests.create(request);
    return request;
  }
  const storedTokens = async (requestId: string) =>
    (await db.dataSource.query<{ channel: string }[]>('SELECT channel FROM decision_tokens WHERE request_id = $1 ORDER BY channel', [requestId])).map((r) => r.channel);
  const clientWindow = async (clientId: string) =>
    (await db.dataSource.query<{ prompts: number }[]>('SELECT prompts FROM client_prompt_windows WHERE client_id = $1', [clientId])).map((r) => r.prompts);
  const pairRequests = async (clientId: string) =>
    (await db.dataSource.query<{ request_ids: string[] }[]>('SELECT request_ids FROM client_user_prompts WHERE client_id = $1', [clientId]))[0]?.request_ids ?? [];

  it('loads the request with its user, counts the prompt and stores the decision tokens, all at once', async () => {
    const clientId = await aClient();
    const request = await aRequest(clientId);
    const claim = await claims.claim(request.id, at(1), ON, tokensFor(request));
    expect(claim).toEqual({
      kind: 'claimed',
      request,
      user: { sub: 'alice', name: 'Alice', email: 'alice@example.com', emailVerified: true, phoneNumber: null, phoneNumberVerified: false, channelPreference: ['email', 'http'] },
      verdict: { allowed: true },
      countedNow: true,
    });
    expect(await storedTokens(request.id)).toEqual(['approval-link', 'http']);
    expect(await pairRequests(clientId)).toEqual([request.id]);
    expect(await clientWindow(clientId)).toEqual([1]);
  });

  it('a retried claim is allowed again without counting twice or storing the tokens twice', async () => {
    const clientId = await aClient();
    const request = await aRequest(clientId);
    await claims.claim(request.id, at(1), ON, tokensFor(request));
    await expect(claims.claim(request.id, at(2), ON, tokensFor(request))).resolves.toMatchObject({ kind: 'claimed', verdict: { allowed: true }, countedNow: false });
    expect(await storedTokens(request.id)).toEqual(['approval-link', 'http']);
    expect(await clientWindow(clientId)).toEqual([1]);
  });

  it('a request that is unknown, already notified, decided or past its lifetime is not claimed, and nothing is stored', async () => {
    const clientId = await aClient();
    const notified = await aRequest(clientId, { notifiedAt: at(0) });
    const decided = await aRequest(clientId, { status: 'denied', denialReason: 'UNAUTHORIZED', decidedAt: at(0) });
    const expiring = await aRequest(clientId, { expiresAt: at(10) });
    for (const [request, when] of [
      [notified, at(1)],
      [decided, at(1)],
      [expiring, at(10)],
    ] as const) {
      await expect(claims.claim(request.id, when, ON, tokensFor(request))).resolves.toEqual({ kind: 'unclaimable' });
      expect(await storedTokens(request.id)).toEqual([]);
    }
    await expect(claims.claim('00000000-0000-4000-8000-000000000000', at(1), ON, [])).resolves.toEqual({ kind: 'unclaimable' });
    expect(await clientWindow(clientId)).toEqual([]);
  });

  it('a refused claim stores no token and counts nothing; with every limit off the claim still stores the tokens', async () => {
    const clientId = await aClient();
    const limits = limitsOf(1, 1000);
    await claims.claim((await aRequest(clientId)).id, at(1), limits, []);
    const refused = await aRequest(clientId);
    await expect(claims.claim(refused.id, at(2), limits, tokensFor(refused))).resolves.toMatchObject({ verdict: { allowed: false, limit: 'client_user' }, countedNow: false });
    expect(await storedTokens(refused.id)).toEqual([]);
    expect(await clientWindow(clientId)).toEqual([1]);

    const unlimited = await aRequest(clientId);
    await expect(claims.claim(unlimited.id, at(3), OFF, tokensFor(unlimited))).resolves.toMatchObject({ verdict: { allowed: true }, countedNow: false });
    expect(await storedTokens(unlimited.id)).toEqual(['approval-link', 'http']);
  });

  it('the user may be gone: the claim says so (null) and the request can be released', async () => {
    const clientId = await aClient();
    const request = await aRequest(clientId, { subject: 'nobody' });
    await expect(claims.claim(request.id, at(1), ON, [])).resolves.toMatchObject({ kind: 'claimed', user: null, countedNow: true });
    await claims.release(request, at(1), ON);
    expect(await clientWindow(clientId)).toEqual([0]);
  });

  it('a request that reached no one uses no budget: release gives back its pair and client counts', async () => {
    const clientId = await aClient();
    const limits = limitsOf(1, 1);
    const unreachable = await aRequest(clientId);
    await claims.claim(unreachable.id, at(1), limits, []);
    await claims.release(unreachable, at(1), limits);
    expect(await pairRequests(clientId)).toEqual([]);
    const next = await aRequest(clientId);
    await expect(claims.claim(next.id, at(2), limits, [])).resolves.toMatchObject({ verdict: { allowed: true }, countedNow: true });
  });

  it('the denial back-off refuses before anything is counted', async () => {
    const clientId = await aClient();
    for (const second of [0, 1, 2]) await aRequest(clientId, { status: 'denied', denialReason: 'CANCELLED', decidedAt: at(second) });
    const request = await aRequest(clientId);
    await expect(claims.claim(request.id, at(3), ON, tokensFor(request))).resolves.toMatchObject({ verdict: { allowed: false, limit: 'denial_backoff' } });
    expect(await storedTokens(request.id)).toEqual([]);
    expect(await clientWindow(clientId)).toEqual([]);
  });

  describe('across replicas', () => {
    let second: DataSource;
    let otherReplica: PostgresPromptClaims;

    beforeAll(async () => {
      second = await createDataSource({ url: db.url, poolSize: 10 }).initialize();
      otherReplica = new PostgresPromptClaims(second);
    });
    afterAll(async () => {
      await second.destroy();
    });

    it('push bombing: concurrent claims for one user from two replicas prompt her `limit` times, and the refused ones use none of the client’s budget', async () => {
      const clientId = await aClient();
      const burst = await Promise.all(Array.from({ length: 24 }, () => aRequest(clientId)));
      const results = await Promise.all(burst.map((request, i) => (i % 2 === 0 ? claims : otherReplica).claim(request.id, at(1), ON, tokensFor(request))));
      const allowed = burst.filter((_, i) => results[i].kind === 'claimed' && results[i].verdict.allowed);
      expect(allowed).toHaveLength(5);
      expect(results.filter((r) => r.kind === 'claimed' && !r.verdict.allowed).map((r) => (r.kind === 'claimed' ? r.verdict : null))).toEqual(
        Array.from({ length: 19 }, () => ({ allowed: false, limit: 'client_user' })),
      );
      expect(await clientWindow(clientId)).toEqual([5]);
      expect([...(await pairRequests(clientId))].sort()).toEqual(allowed.map((r) => r.id).sort());
      const withTokens = await db.dataSource.query<{ n: string }[]>('SELECT count(DISTINCT request_id) AS n FROM decision_tokens WHERE request_id = ANY($1)', [burst.map((r) => r.id)]);
      expect(Number(withTokens[0].n)).toBe(5);
    });
  });
});
