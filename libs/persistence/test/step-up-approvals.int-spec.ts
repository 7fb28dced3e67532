import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { type ScratchDatabase, TypeOrmStepUpApprovalRepository, createScratchDatabase } from '../src/index.js';
import { T0, at } from './fixtures.js';

describe('step-up approvals (the gateway’s shared state)', () => {
  let db: ScratchDatabase;
  let approvals: TypeOrmStepUpApprovalRepository;

  beforeAll(async () => {
    db = await createScratchDatabase();
    approvals = new TypeOrmStepUpApprovalRepository(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  async function approvedOnce(bindingKey: string, reuse: 'once' | 'ttl' = 'once'): Promise<string> {
    const { approval } = await approvals.open({ id: randomUUID(), bindingKey, routeId: 'payments', reuse, createdAt: T0, startDeadline: at(30) });
    await approvals.started(approval.id, 'sealed-auth-req-id', 5, at(300), at(5), T0);
    const [claimed] = await approvals.claimDue('replica-a', at(5), at(35), 10);
    expect(claimed?.id).toBe(approval.id);
    expect(await approvals.approve(approval.id, 'replica-a', 'sealed-token', 'jti-1', at(600), at(6))).toBe(true);
    return approval.id;
  }

  it('opens one live approval per binding, however many requests race for it', async () => {
    const bindingKey = randomUUID();
    const opened = await Promise.all(
      Array.from({ length: 8 }, () => approvals.open({ id: randomUUID(), bindingKey, routeId: 'payments', reuse: 'once', createdAt: T0, startDeadline: at(30) })),
    );
    expect(opened.filter((o) => o.created)).toHaveLength(1);
    expect(new Set(opened.map((o) => o.approval.id)).size).toBe(1);
  });

  it('lets a `once` approval through exactly one of many concurrent uses (replicas included)', async () => {
    const id = await approvedOnce(randomUUID());
    const uses = await Promise.all(Array.from({ length: 10 }, () => approvals.use(id, at(7))));
    expect(uses.filter((u) => u !== null)).toHaveLength(1);
    expect((await approvals.find(id))?.status).toBe('consumed');
  });

  it('lets a `ttl` approval through until it runs out, then ends it', async () => {
    const bindingKey = randomUUID();
    const id = await approvedOnce(bindingKey, 'ttl');
    expect(await approvals.use(id, at(7))).not.toBeNull();
    expect(await approvals.use(id, at(8))).not.toBeNull();
    expect(await approvals.use(id, at(600))).toBeNull();
    expect((await approvals.current(bindingKey, at(600)))?.status).toBe('expired');
  });

  it('leases a due approval to one replica at a time; the lease runs out for a replica that stopped', async () => {
    const { approval } = await approvals.open({ id: randomUUID(), bindingKey: randomUUID(), routeId: 'payments', reuse: 'once', createdAt: T0, startDeadline: at(30) });
    await approvals.started(approval.id, 'sealed', 5, at(300), at(5), T0);
    expect(await approvals.claimDue('replica-a', at(4), at(34), 10)).toEqual([]);
    const [a, b] = await Promise.all([approvals.claimDue('replica-a', at(5), at(35), 10), approvals.claimDue('replica-b', at(5), at(35), 10)]);
    expect([...a, ...b].filter((x) => x.id === approval.id)).toHaveLength(1);
    const holder = a.some((x) => x.id === approval.id) ? 'replica-a' : 'replica-b';
    const other = holder === 'replica-a' ? 'replica-b' : 'replica-a';
    expect(await approvals.approve(approval.id, other, 'token', null, at(600), at(6))).toBe(false);
    expect((await approvals.claimDue(other, at(35), at(65), 10)).map((x) => x.id)).toContain(approval.id);
  });

  it('frees the binding of a request that was never sent (a replica died while sending it)', async () => {
    const bindingKey = randomUUID();
    const first = await approvals.open({ id: randomUUID(), bindingKey, routeId: 'payments', reuse: 'once', createdAt: T0, startDeadline: at(30) });
    const again = await approvals.open({ id: randomUUID(), bindingKey, routeId: 'payments', reuse: 'once', createdAt: at(31), startDeadline: at(61) });
    expect(again.created).toBe(true);
    expect((await approvals.find(first.approval.id))?.status).toBe('expired');
  });
});
