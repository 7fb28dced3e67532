import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type AuthRequest,
  type AuthRequestEvent,
  type CallbackDelivery,
  clientNotified,
  deviceNotified,
  outcomeEvent,
  requestCreated,
  requestDecided,
  requestExpired,
  requestRedeemed,
} from '@ciba/domain';
import { TypeOrmAuditRepository, TypeOrmEvidenceRecordRepository, createDataSource } from '@ciba/persistence';
import { assembleEvidence, auditRecordOf, evidenceOfBatch, joinEvidence } from '@ciba/service-audit';
import { PgStatementRelay, type TestDatabase, createTestDatabase } from '@ciba/testing';

jest.setTimeout(60_000);

const created = new Date('2026-02-01T08:00:00.000Z');
const decided = new Date('2026-02-01T08:00:20.000Z');

function requestFor(id: string): AuthRequest {
  return {
    id,
    clientId: 'bank-app',
    subject: 'alice',
    scope: ['openid'],
    acrValues: [],
    bindingMessage: 'Approve transfer 81',
    authorizationDetails: null,
    hintType: 'login_hint',
    deliveryMode: 'push',
    sealedClientNotificationToken: null,
    status: 'pending',
    createdAt: created,
    expiresAt: new Date(created.getTime() + 300_000),
    interval: 5,
    lastPolledAt: null,
    decidedAt: null,
    denialReason: null,
    denialLimit: null,
    redeemedAt: null,
    notifiedAt: null,
    correlationId: null,
    traceContext: null,
    acr: null,
    amr: [],
  };
}

function pushTrail(id: string): AuthRequestEvent[] {
  const request = requestFor(id);
  const approved: AuthRequest = { ...request, status: 'approved', decidedAt: decided, acr: 'urn:example:acr:passkey', amr: ['hwk'] };
  const delivery = { id: `${id}:approved`, requestId: id, kind: 'push_tokens', trigger: 'approved' } as unknown as CallbackDelivery;
  return [
    requestCreated(request, null, { issuer: 'https://op.example', backchannelEndpoint: 'https://op.example/bc-authorize', userHintHash: 'h1' }),
    deviceNotified(request, 'http', new Date(created.getTime() + 500)),
    requestDecided(approved),
    requestRedeemed(approved, ['access_token', 'id_token'], new Date(decided.getTime() + 5)),
    clientNotified(approved, delivery, 1, new Date(decided.getTime() + 50), 204),
  ];
}

/**
 * The evidence record in PostgreSQL under redelivery and several audit replicas: merges of the same
 * request run concurrently, in any order, any number of times, and the stored record is the one the
 * events give in order.
 */
describe('audit evidence record: idempotent, order-independent merges on PostgreSQL', () => {
  let db: TestDatabase;
  let replicaA: TypeOrmEvidenceRecordRepository;
  let replicaB: TypeOrmEvidenceRecordRepository;
  beforeAll(async () => {
    db = await createTestDatabase();
    replicaA = new TypeOrmEvidenceRecordRepository(db.dataSource);
    replicaB = new TypeOrmEvidenceRecordRepository(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  const merge = (repository: TypeOrmEvidenceRecordRepository, events: readonly AuthRequestEvent[]) =>
    repository.mergeMany(events.map((event) => assembleEvidence([event])!), joinEvidence);

  it('stores every fact of the trail, and a redelivered batch changes no row', async () => {
    const trail = pushTrail(randomUUID());
    expect(await merge(replicaA, trail)).toBe(1);
    const stored = await replicaA.find(trail[0].requestId);
    expect(stored).toEqual(assembleEvidence(trail));
    expect(await merge(replicaA, trail)).toBe(0);
    expect(await merge(replicaB, [trail[2]])).toBe(0);
    expect(await replicaA.find(trail[0].requestId)).toEqual(stored);
  });

  it('two replicas merging the same request concurrently, one event each in reverse order, lose nothing', async () => {
    const trails = Array.from({ length: 8 }, () => pushTrail(randomUUID()));
    // Each replica gets every request's events one at a time, the second replica in reverse order.
    await Promise.all([
      (async () => {
        for (let i = 0; i < 5; i++) await merge(replicaA, trails.map((t) => t[i]));
      })(),
      (async () => {
        for (let i = 4; i >= 0; i--) await merge(replicaB, trails.map((t) => t[i]));
      })(),
      ...trails.map((t) => merge(replicaB, [t[3], t[0]])),
    ]);
    for (const trail of trails) expect(await replicaA.find(trail[0].requestId)).toEqual(assembleEvidence(trail));
  });

  it('the redemption merged before the approval (another replica) gives the same record', async () => {
    const trail = pushTrail(randomUUID());
    await merge(replicaB, [trail[3]]);
    expect((await replicaB.find(trail[0].requestId))?.tokenOutcome).toBe('issued');
    await merge(replicaA, [trail[4], trail[2]]);
    await merge(replicaB, [trail[1], trail[0]]);
    expect(await replicaA.find(trail[0].requestId)).toEqual(assembleEvidence(trail));
  });

  it('CIBA §11 a late expiry never replaces a stored decision, and a republished approval without acr keeps it', async () => {
    const trail = pushTrail(randomUUID());
    await merge(replicaA, trail);
    const request = requestFor(trail[0].requestId);
    await merge(replicaB, [requestExpired(request, request.expiresAt), outcomeEvent({ ...request, decidedAt: decided }, 'approved')]);
    const record = await replicaA.find(request.id);
    expect(record?.decision).toEqual({ outcome: 'approved', at: decided.toISOString(), reason: null, limit: null, acr: 'urn:example:acr:passkey', amr: ['hwk'] });
    expect(record?.tokenOutcome).toBe('issued');
  });

  it('a merge of nothing writes nothing; one batch may hold several requests', async () => {
    expect(await replicaA.mergeMany([], joinEvidence)).toBe(0);
    const [a, b] = [pushTrail(randomUUID()), pushTrail(randomUUID())];
    expect(await merge(replicaA, [...a, ...b])).toBe(2);
    expect(await replicaA.find(a[0].requestId)).toEqual(assembleEvidence(a));
    expect(await replicaA.find(b[0].requestId)).toEqual(assembleEvidence(b));
    expect(await replicaA.find(randomUUID())).toBeNull();
  });
});

/**
 * The audit consumer's batch: its events appended to the hash-chained trail and its requests'
 * evidence records merged by one statement, so neither can be stored without the other.
 */
describe('audit batch: the trail and the evidence records in one statement', () => {
  let db: TestDatabase;
  let relay: PgStatementRelay;
  let counted: Awaited<ReturnType<ReturnType<typeof createDataSource>['initialize']>>;
  beforeAll(async () => {
    db = await createTestDatabase();
    relay = await PgStatementRelay.start();
    counted = await createDataSource({ url: relay.url(db.url) }).initialize();
  });
  afterAll(async () => {
    await counted?.destroy();
    await relay?.close();
    await db.drop();
  });

  const append = (repository: TypeOrmAuditRepository, events: readonly AuthRequestEvent[]) => repository.appendMany(events.map(auditRecordOf), evidenceOfBatch(events));
  const flowStatements = (mark: number) => relay.since(mark).filter((s) => /audit_records|audit_evidence_records/.test(s.sql));

  it('one statement appends a batch of several requests and writes their records; a redelivered batch writes neither', async () => {
    const repository = new TypeOrmAuditRepository(counted);
    const [a, b] = [pushTrail(randomUUID()), pushTrail(randomUUID())];
    const mark = relay.mark();
    expect(await append(repository, [...a.slice(0, 3), ...b.slice(0, 3)])).toBe(6);
    expect(await append(repository, [...a.slice(3), ...b.slice(3)])).toBe(4);
    expect(flowStatements(mark)).toHaveLength(2);
    const records = new TypeOrmEvidenceRecordRepository(db.dataSource);
    expect(await records.find(a[0].requestId)).toEqual(assembleEvidence(a));
    expect(await records.find(b[0].requestId)).toEqual(assembleEvidence(b));
    expect(await append(repository, [...b, ...a])).toBe(0);
    expect(await records.find(a[0].requestId)).toEqual(assembleEvidence(a));
  });

  it('a batch whose trail cannot be stored leaves the evidence record untouched', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const trail = pushTrail(randomUUID());
    await append(repository, trail.slice(0, 2));
    const before = await new TypeOrmEvidenceRecordRepository(db.dataSource).find(trail[0].requestId);
    // A row PostgreSQL refuses (jsonb cannot hold U+0000) fails the whole statement, the record's write with it.
    const broken = { ...auditRecordOf(trail[2]), payload: { note: 'a\u0000b' } };
    await expect(repository.appendMany([broken, auditRecordOf(trail[3])], evidenceOfBatch(trail.slice(2, 4)))).rejects.toThrow(/unicode|\\u0000/i);
    expect(await new TypeOrmEvidenceRecordRepository(db.dataSource).find(trail[0].requestId)).toEqual(before);
    const [{ n }] = await db.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM audit_records WHERE request_id = $1`, [trail[0].requestId]);
    expect(n).toBe(2);
  });

  it('two audit replicas appending the same requests concurrently, in reverse order, keep one gap-free chain and lose no fact', async () => {
    const [replicaA, replicaB] = [new TypeOrmAuditRepository(db.dataSource), new TypeOrmAuditRepository(db.dataSource)];
    const trails = Array.from({ length: 8 }, () => pushTrail(randomUUID()));
    await Promise.all([
      (async () => {
        for (let i = 0; i < 5; i++) await append(replicaA, trails.map((t) => t[i]));
      })(),
      (async () => {
        for (let i = 4; i >= 0; i--) await append(replicaB, trails.map((t) => t[i]));
      })(),
    ]);
    const records = new TypeOrmEvidenceRecordRepository(db.dataSource);
    for (const trail of trails) expect(await records.find(trail[0].requestId)).toEqual(assembleEvidence(trail));
    const [chain] = await db.dataSource.query<{ rows: number; events: number; first: string; last: string }[]>(
      `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS events, min(seq)::text AS first, max(seq)::text AS last FROM audit_records`,
    );
    expect(chain.rows).toBe(chain.events);
    expect(Number(chain.last) - Number(chain.first) + 1).toBe(chain.rows);
  });
});
