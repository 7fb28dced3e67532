import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PostgresDurableQueueStore } from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';

describe('PostgresDurableQueueStore', () => {
  let db: TestDatabase;
  let queue: PostgresDurableQueueStore;
  // visible_at defaults to the database's now(); claims use a clock comfortably past it.
  const later = (seconds = 0) => new Date(Date.now() + 60_000 + seconds * 1000);

  beforeAll(async () => {
    db = await createTestDatabase();
    queue = new PostgresDurableQueueStore(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('enqueues one row per consumer, idempotently per (consumer, message id)', async () => {
    await queue.enqueue(['audit-a', 'notifier-a'], 'ciba.auth_request.created', 'm-1', { n: 1 }, { 'x-correlation-id': 'c-1' });
    await queue.enqueue(['audit-a', 'notifier-a'], 'ciba.auth_request.created', 'm-1', { n: 2 }, {});
    await queue.enqueue([], 'ignored', 'm-0', {}, {});

    const audit = await queue.claim('audit-a', 10, 30_000, later());
    expect(audit).toEqual([
      {
        id: expect.any(String),
        consumer: 'audit-a',
        subject: 'ciba.auth_request.created',
        messageId: 'm-1',
        payload: { n: 1 },
        headers: { 'x-correlation-id': 'c-1' },
        deliveries: 1,
      },
    ]);
    await expect(queue.claim('notifier-a', 10, 30_000, later())).resolves.toHaveLength(1);
  });

  it('claims oldest first, at most `limit`, hiding claimed messages for the lease and counting deliveries', async () => {
    for (const id of ['o-1', 'o-2', 'o-3']) await queue.enqueue(['order'], 'subject', id, { id }, {});
    const first = await queue.claim('order', 2, 30_000, later());
    expect(first.map((m) => m.messageId)).toEqual(['o-1', 'o-2']);
    const second = await queue.claim('order', 2, 30_000, later());
    expect(second.map((m) => m.messageId)).toEqual(['o-3']);
    await expect(queue.claim('order', 2, 30_000, later(29))).resolves.toEqual([]);

    // Lease over: redelivered, delivery counted.
    const redelivered = await queue.claim('order', 10, 30_000, later(30));
    expect(redelivered.map((m) => [m.messageId, m.deliveries])).toEqual([
      ['o-1', 2],
      ['o-2', 2],
      ['o-3', 2],
    ]);
  });

  it('hands each message to exactly one of two concurrent claimers (SKIP LOCKED)', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `c-${i}`);
    for (const id of ids) await queue.enqueue(['contended'], 'subject', id, {}, {});

    const claimed: string[][] = [[], []];
    await Promise.all(
      [0, 1].map(async (claimer) => {
        for (;;) {
          const batch = await queue.claim('contended', 3, 60_000, later());
          if (batch.length === 0) return;
          claimed[claimer].push(...batch.map((m) => m.messageId));
        }
      }),
    );
    const all = [...claimed[0], ...claimed[1]];
    expect(all).toHaveLength(ids.length);
    expect(new Set(all)).toEqual(new Set(ids));
  });

  it('ack removes the message', async () => {
    await queue.enqueue(['acker'], 'subject', 'a-1', {}, {});
    const [message] = await queue.claim('acker', 1, 1_000, later());
    await queue.ack(message.id);
    await expect(queue.claim('acker', 1, 1_000, later(3600))).resolves.toEqual([]);
  });

  it('nak delays visibility by the given delay', async () => {
    await queue.enqueue(['naker'], 'subject', 'n-1', {}, {});
    const now = later();
    const [message] = await queue.claim('naker', 1, 60_000, now);
    await queue.nak(message.id, 5_000, now);
    await expect(queue.claim('naker', 1, 60_000, new Date(now.getTime() + 4_999))).resolves.toEqual([]);
    const [again] = await queue.claim('naker', 1, 60_000, new Date(now.getTime() + 5_000));
    expect(again).toMatchObject({ id: message.id, deliveries: 2 });
  });

  it('deadLetter moves the message to the dead letters with the reason', async () => {
    await queue.enqueue(['dlq'], 'ciba.auth_request.approved', 'd-1', { k: 'v' }, { h: '1' });
    const [message] = await queue.claim('dlq', 1, 1_000, later());
    await queue.deadLetter(message.id, 'max deliveries reached');
    await queue.deadLetter(message.id, 'again');

    await expect(queue.claim('dlq', 1, 1_000, later(3600))).resolves.toEqual([]);
    const letters = await queue.listDeadLetters('dlq');
    expect(letters).toEqual([
      {
        id: message.id,
        consumer: 'dlq',
        subject: 'ciba.auth_request.approved',
        messageId: 'd-1',
        payload: { k: 'v' },
        headers: { h: '1' },
        reason: 'max deliveries reached',
        deliveries: 1,
        createdAt: expect.any(Date),
      },
    ]);
    await expect(queue.listDeadLetters()).resolves.toHaveLength(1);
    await expect(queue.listDeadLetters('other')).resolves.toEqual([]);
  });

  it('hand-over: enqueue stores the rows of leased consumers claimed (one delivery, hidden until the lease ends) and returns them; a repeat returns nothing', async () => {
    const now = later();
    const until = new Date(now.getTime() + 30_000);
    const leased = await queue.enqueue(['h-notifier', 'h-audit'], 'ciba.auth_request.created', 'h-1', { n: 1 }, { h: '1' }, new Map([['h-notifier', until]]));
    expect(leased).toEqual([
      { id: expect.any(String), consumer: 'h-notifier', subject: 'ciba.auth_request.created', messageId: 'h-1', payload: { n: 1 }, headers: { h: '1' }, deliveries: 1 },
    ]);
    // Hidden until the lease ends; the other consumer's row is visible at once.
    await expect(queue.claim('h-notifier', 10, 30_000, now)).resolves.toEqual([]);
    await expect(queue.claim('h-audit', 10, 30_000, now)).resolves.toHaveLength(1);
    const [again] = await queue.claim('h-notifier', 10, 30_000, until);
    expect(again).toMatchObject({ id: leased[0].id, deliveries: 2 });

    await expect(queue.enqueue(['h-notifier'], 'ciba.auth_request.created', 'h-1', { n: 2 }, {}, new Map([['h-notifier', until]]))).resolves.toEqual([]);
  });

  it('ackMany removes several messages in one statement; backlog counts what is left per consumer', async () => {
    for (const id of ['m-1', 'm-2', 'm-3']) await queue.enqueue(['many'], 'subject', id, {}, {});
    await queue.enqueue(['many-other'], 'subject', 'm-4', {}, {});
    const now = later();
    const claimed = await queue.claim('many', 2, 60_000, now);
    expect((await queue.backlog(now)).filter((entry) => entry.consumer.startsWith('many'))).toEqual([
      { consumer: 'many', waiting: 1, inFlight: 2 },
      { consumer: 'many-other', waiting: 1, inFlight: 0 },
    ]);

    await queue.ackMany(claimed.map((message) => message.id));
    await queue.ackMany([]);
    expect((await queue.backlog(now)).filter((entry) => entry.consumer.startsWith('many'))).toEqual([
      { consumer: 'many', waiting: 1, inFlight: 0 },
      { consumer: 'many-other', waiting: 1, inFlight: 0 },
    ]);
  });

  it('keeps messages of other consumers apart', async () => {
    await queue.enqueue(['x-consumer'], 'subject', 'x-1', {}, {});
    await expect(queue.claim('y-consumer', 10, 1_000, later())).resolves.toEqual([]);
  });
});
