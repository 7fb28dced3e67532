import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthRequest, DenialReason, PromptLimits, PromptVerdict } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { PostgresNotificationLimiter, TypeOrmAuthRequestRepository, createDataSource, createScratchDatabase, type ScratchDatabase } from '../src/index.js';
import { anAuthRequest, at, registeredClient } from './fixtures.js';

const MINUTE = 60_000;
const OFF: PromptLimits = {
  clientUser: { limit: 0, windowMs: 10 * MINUTE },
  client: { limit: 0, windowMs: MINUTE },
  denialBackoff: { threshold: 0, windowMs: 60 * MINUTE, baseMs: 5 * MINUTE, maxMs: 20 * MINUTE },
};
const withLimits = (overrides: { clientUser?: number; client?: number; denials?: number }): PromptLimits => ({
  clientUser: { ...OFF.clientUser, limit: overrides.clientUser ?? 0 },
  client: { ...OFF.client, limit: overrides.client ?? 0 },
  denialBackoff: { ...OFF.denialBackoff, threshold: overrides.denials ?? 0 },
});
const ALLOWED: PromptVerdict = { allowed: true };
const refused = (limit: string) => ({ allowed: false, limit });

describe('prompt limits, each scoped to the asking client (PostgreSQL, across notifier replicas)', () => {
  let db: ScratchDatabase;
  let limiter: PostgresNotificationLimiter;
  let requests: TypeOrmAuthRequestRepository;

  beforeAll(async () => {
    db = await createScratchDatabase();
    limiter = new PostgresNotificationLimiter(db.dataSource);
    requests = new TypeOrmAuthRequestRepository(db.dataSource);
  }, 30_000);
  afterAll(async () => {
    await db.drop();
  });

  const aClient = async () => (await registeredClient(db.dataSource)).clientId;
  async function aRequest(clientId: string, subject: string, overrides: Partial<AuthRequest> = {}): Promise<AuthRequest> {
    const request = anAuthRequest(clientId, { subject, ...overrides });
    await requests.create(request);
    return request;
  }
  /** A request of `clientId` for `subject` that was decided as denied at `when`, for `reason`. */
  const aDenial = (clientId: string, subject: string, reason: DenialReason, when: Date) =>
    aRequest(clientId, subject, { status: 'denied', denialReason: reason, decidedAt: when, notifiedAt: when });
  const acquire = async (clientId: string, subject: string, when: Date, limits: PromptLimits) => limiter.acquire(await aRequest(clientId, subject), when, limits);

  it('one client silences a user (per-client-and-user limit): client A reaching its limit for alice does not block client B’s request for her', async () => {
    const [a, b] = [await aClient(), await aClient()];
    const limits = withLimits({ clientUser: 2 });
    expect(await acquire(a, 'alice', at(0), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'alice', at(1), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'alice', at(2), limits)).toEqual(refused('client_user'));
    expect(await acquire(b, 'alice', at(3), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'bob', at(4), limits)).toEqual(ALLOWED);
    // A sliding window: A's first prompt leaves the window 10 minutes after it was sent.
    expect(await acquire(a, 'alice', at(599), limits)).toEqual(refused('client_user'));
    expect(await acquire(a, 'alice', at(601), limits)).toEqual(ALLOWED);
  });

  it('per-client limit: a client may prompt `limit` users per window in all, then is refused; other clients are not affected; the next window starts afresh', async () => {
    const [a, b] = [await aClient(), await aClient()];
    const limits = withLimits({ client: 3, clientUser: 10 });
    for (const [i, user] of ['u1', 'u2', 'u3'].entries()) expect(await acquire(a, user, at(i), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'u4', at(10), limits)).toEqual(refused('client'));
    expect(await acquire(b, 'u4', at(11), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'u4', at(60), limits)).toEqual(ALLOWED);
    // The client's past windows are dropped as it goes.
    const rows = await db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM client_prompt_windows WHERE client_id = $1', [a]);
    expect(Number(rows[0].n)).toBe(1);
  });

  it('a refused request uses no budget: refused for the pair, it is not counted against the client', async () => {
    const a = await aClient();
    const limits = withLimits({ clientUser: 1, client: 2 });
    expect(await acquire(a, 'alice', at(0), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'alice', at(1), limits)).toEqual(refused('client_user'));
    expect(await acquire(a, 'bob', at(2), limits)).toEqual(ALLOWED);
  });

  it('denial back-off: after N denials by the user, that client’s further requests for her are refused for a back-off that doubles with each further denial, up to the cap; other clients and users are not affected', async () => {
    const [a, b] = [await aClient(), await aClient()];
    const limits = withLimits({ denials: 2 });
    await aDenial(a, 'alice', 'UNAUTHORIZED', at(0));
    expect(await acquire(a, 'alice', at(10), limits)).toEqual(ALLOWED);
    await aDenial(a, 'alice', 'CANCELLED', at(20));
    // Two denials: 5 minutes from the last one.
    expect(await acquire(a, 'alice', at(30), limits)).toEqual(refused('denial_backoff'));
    expect(await acquire(b, 'alice', at(31), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'bob', at(32), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'alice', at(20 + 299), limits)).toEqual(refused('denial_backoff'));
    // The back-off ends.
    expect(await acquire(a, 'alice', at(20 + 301), limits)).toEqual(ALLOWED);

    // A third denial doubles it (10 minutes), a fourth to 20, and there it stays (the cap).
    await aDenial(a, 'alice', 'UNAUTHORIZED', at(400));
    expect(await acquire(a, 'alice', at(400 + 599), limits)).toEqual(refused('denial_backoff'));
    expect(await acquire(a, 'alice', at(400 + 601), limits)).toEqual(ALLOWED);
    await aDenial(a, 'alice', 'UNAUTHORIZED', at(1100));
    await aDenial(a, 'alice', 'UNAUTHORIZED', at(1200));
    expect(await acquire(a, 'alice', at(1200 + 1199), limits)).toEqual(refused('denial_backoff'));
    expect(await acquire(a, 'alice', at(1200 + 1201), limits)).toEqual(ALLOWED);
  });

  it('denial back-off counts only the user’s own denials (UNAUTHORIZED, CANCELLED), never the provider’s refusals (RATE_LIMITED, UNREACHABLE)', async () => {
    const a = await aClient();
    const limits = withLimits({ denials: 1 });
    await aDenial(a, 'carol', 'RATE_LIMITED', at(0));
    await aDenial(a, 'carol', 'UNREACHABLE', at(1));
    expect(await acquire(a, 'carol', at(2), limits)).toEqual(ALLOWED);
    await aDenial(a, 'carol', 'CANCELLED', at(3));
    expect(await acquire(a, 'carol', at(4), limits)).toEqual(refused('denial_backoff'));
    // Denials older than the window (an hour) no longer count.
    expect(await acquire(a, 'carol', at(3 + 3601), limits)).toEqual(ALLOWED);
  });

  it('counts a request once: a retried notification is allowed again without using the budget', async () => {
    const a = await aClient();
    const limits = withLimits({ clientUser: 1, client: 1 });
    const request = await aRequest(a, 'dave');
    expect(await limiter.acquire(request, at(0), limits)).toEqual(ALLOWED);
    expect(await limiter.acquire(request, at(1), limits)).toEqual(ALLOWED);
    expect(await acquire(a, 'dave', at(2), limits)).toEqual(refused('client_user'));
    expect(await acquire(a, 'erin', at(3), limits)).toEqual(refused('client'));
  });

  it('with every limit off it allows without touching the database', async () => {
    const a = await aClient();
    expect(await acquire(a, 'alice', at(0), OFF)).toEqual(ALLOWED);
    const rows = await db.dataSource.query<{ n: string }[]>('SELECT count(*) AS n FROM client_user_prompts WHERE client_id = $1', [a]);
    expect(Number(rows[0].n)).toBe(0);
  });

  describe('concurrency', () => {
    let second: DataSource;
    let otherReplica: PostgresNotificationLimiter;

    beforeAll(async () => {
      second = await createDataSource({ url: db.url, poolSize: 10 }).initialize();
      otherReplica = new PostgresNotificationLimiter(second);
    }, 30_000);
    afterAll(async () => {
      await second.destroy();
    });

    it('concurrent acquisitions across two limiter instances (two pools, as two notifier replicas) never exceed the per-client-and-user limit', async () => {
      const a = await aClient();
      const limits = withLimits({ clientUser: 5, client: 1000 });
      const batch = await Promise.all(Array.from({ length: 24 }, () => aRequest(a, 'alice')));
      const verdicts = await Promise.all(batch.map((request, i) => (i % 2 === 0 ? limiter : otherReplica).acquire(request, at(0), limits)));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(5);
      expect(verdicts.filter((v) => !v.allowed)).toEqual(Array.from({ length: 19 }, () => refused('client_user')));
    });

    it('concurrent acquisitions across two limiter instances never exceed the per-client limit, over many users', async () => {
      const a = await aClient();
      const limits = withLimits({ clientUser: 5, client: 7 });
      const batch = await Promise.all(Array.from({ length: 24 }, (_, i) => aRequest(a, `user-${i % 12}`)));
      const verdicts = await Promise.all(batch.map((request, i) => (i % 2 === 0 ? limiter : otherReplica).acquire(request, at(0), limits)));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(7);
      expect(verdicts.filter((v) => !v.allowed)).toEqual(Array.from({ length: 17 }, () => refused('client')));
      const rows = await db.dataSource.query<{ prompts: number }[]>('SELECT prompts FROM client_prompt_windows WHERE client_id = $1', [a]);
      expect(rows).toEqual([{ prompts: 7 }]);
    });
  });
});
