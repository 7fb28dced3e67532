import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { AuthRequestCreated, Clock } from '@ciba/domain';
import { type BusContext, InProcessEventPublisher, OnBusEvent, defineTopology, inProcessConsumerLag, totalLag } from '@ciba/messaging';
import { AuditModule } from '@ciba/service-audit';
import { waitFor } from '@ciba/testing';
import { type BusTestBed, auditStorage, busTestBed, createdEvent } from './bus-harness.js';

/** The audit's batch statements: the trail's append, with the evidence records' write (`WITH appended AS (…)`) or without it (nothing to merge). */
const auditAppends = (bed: { count(prefix: string): number }): number => bed.count('INSERT INTO audit_records') + bed.count('WITH appended AS (INSERT INTO audit_records');

jest.setTimeout(60_000);

/** What the notifier's handler received, and per request what it does with delivery n. */
const received: Array<{ readonly requestId: string; readonly context: BusContext }> = [];
const behaviour = new Map<string, (delivery: number) => Promise<void> | void>();
const gates: Array<() => void> = [];

@Controller()
class NotifierProbe {
  @OnBusEvent('notifier', 'auth_request.created')
  async onCreated(@Payload() event: AuthRequestCreated, @Ctx() context: unknown): Promise<void> {
    const busContext = context as BusContext;
    received.push({ requestId: event.requestId, context: busContext });
    await behaviour.get(event.requestId)?.(busContext.deliveryCount);
  }
}

/** Held until the test (or its cleanup) lets it go. */
function blockedUntilReleased(): Promise<void> {
  return new Promise<void>((resolve) => gates.push(resolve));
}

const topology = defineTopology({ consumers: { notifier: { ackWaitMs: 2_000 } } });
const deliveriesOf = (requestId: string) => received.filter((entry) => entry.requestId === requestId).map((entry) => entry.context.deliveryCount);

describe('in-process bus over PostgreSQL', () => {
  let bed: BusTestBed;
  let probeModule: ReturnType<typeof moduleWith>;
  function moduleWith(bed: BusTestBed) {
    @Module({ imports: [auditStorage(bed.db), AuditModule], controllers: [NotifierProbe] })
    class ProbeApp {}
    return ProbeApp;
  }
  /** The work items of a message; of one consumer's when named. */
  const queued = async (messageId: string, consumer: string | null = null) =>
    bed.db.dataSource.query<{ consumer: string; deliveries: number; leased: boolean }[]>(
      `SELECT consumer, deliveries, visible_at > now() AS leased FROM queued_messages
        WHERE message_id = $1 AND ($2::text IS NULL OR consumer = $2) ORDER BY consumer`,
      [messageId, consumer],
    );
  const audited = async (eventId: string) =>
    (await bed.db.dataSource.query<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_records WHERE event_id = $1', [eventId]))[0].n;

  beforeAll(async () => {
    bed = await busTestBed();
    probeModule = moduleWith(bed);
  });
  afterEach(() => {
    for (const release of gates.splice(0)) release();
  });
  afterAll(async () => {
    for (const release of gates.splice(0)) release();
    await bed?.close();
  });

  it('hand-over: an event published in the process that consumes it takes one INSERT and no claim; each consumer acknowledges it with a DELETE', async () => {
    const process = await bed.start({ consumers: ['notifier', 'audit', 'callback-dispatcher'], module: probeModule, topology });
    await waitFor(() => bed.count('WITH claimed AS MATERIALIZED') === 3, { description: 'the claim of each consumer at start' });
    await bed.idle();
    bed.statements.length = 0;
    const event = createdEvent();

    await process.publisher.publish(event);
    await waitFor(async () => deliveriesOf(event.requestId).length === 1 && (await audited(event.eventId)) === 1 && (await queued(event.eventId)).length === 0, {
      description: 'the notifier and the audit trail to have handled and acknowledged the event',
    });

    expect(deliveriesOf(event.requestId)).toEqual([1]);
    expect(bed.count('INSERT INTO queued_messages')).toBe(1);
    expect(bed.count('WITH claimed AS MATERIALIZED')).toBe(0);
    expect(auditAppends(bed)).toBe(1);
    // At most one per consumer that received it (the callback dispatcher, with no handler for it here, got no row).
    expect(bed.count('DELETE FROM queued_messages')).toBeGreaterThanOrEqual(1);
    expect(bed.count('DELETE FROM queued_messages')).toBeLessThanOrEqual(2);
    expect(bed.statements).toHaveLength(bed.count('INSERT INTO') + bed.count('WITH appended AS (') + bed.count('DELETE FROM queued_messages'));
    await process.close();
  });

  it('head-of-line blocking: while one notification blocks, the notifier handles the others', async () => {
    const process = await bed.start({ consumers: ['notifier'], module: probeModule, topology, maxInFlight: 4 });
    const [slow, ...others] = Array.from({ length: 6 }, () => createdEvent());
    behaviour.set(slow.requestId, () => blockedUntilReleased());

    await process.publisher.publish(slow);
    await waitFor(() => deliveriesOf(slow.requestId).length === 1, { description: 'the slow handler started' });
    for (const event of others) await process.publisher.publish(event);

    await waitFor(async () => (await Promise.all(others.map((event) => queued(event.eventId, 'notifier')))).every((rows) => rows.length === 0), {
      description: 'the other notifications handled and acknowledged while the first blocks',
    });
    expect(others.map((event) => deliveriesOf(event.requestId))).toEqual(others.map(() => [1]));
    for (const release of gates.splice(0)) release();
    await waitFor(async () => (await queued(slow.eventId, 'notifier')).length === 0, { description: 'the slow one acknowledged once released' });
    await process.close();
  });

  it('lag: inProcessConsumerLag counts, per consumer, the rows waiting for a claim and those claimed but not acknowledged', async () => {
    const process = await bed.start({ consumers: ['notifier'], module: probeModule, topology, pollIntervalMs: 50 });
    const [held, waiting] = [createdEvent(), createdEvent()];
    behaviour.set(held.requestId, () => blockedUntilReleased());
    await process.publisher.publish(held);
    await waitFor(() => deliveriesOf(held.requestId).length === 1, { description: 'the held delivery started' });
    // Published by another process: stored visible for every consumer, the notifier's included.
    await new InProcessEventPublisher({ store: bed.store, topology }).publish(waiting);
    const lagNow = async () => (await inProcessConsumerLag(bed.store, topology)).filter((lag) => lag.consumer === 'notifier');

    // The notifier's claim loop may already have the second one: either way two are not acknowledged.
    expect(totalLag(await lagNow())).toBe(2);
    for (const release of gates.splice(0)) release();
    await waitFor(async () => totalLag(await lagNow()) === 0, { timeoutMs: 20_000, description: 'the notifier caught up' });
    await process.close();
  });

  it('crash recovery: a notification handed over to a process that never settles it is claimed from the table by another once its claim runs out', async () => {
    const crashed = await bed.start({ consumers: ['notifier'], module: probeModule, topology });
    const event = createdEvent();
    // The first process takes the message and then hangs as if killed: no ack ever comes from it.
    behaviour.set(event.requestId, (delivery) => (delivery === 1 ? blockedUntilReleased() : undefined));
    await crashed.publisher.publish(event);
    await waitFor(() => deliveriesOf(event.requestId).length === 1, { description: 'the first delivery started' });
    expect(await queued(event.eventId, 'notifier')).toEqual([{ consumer: 'notifier', deliveries: 1, leased: true }]);

    // Another process, whose clock is past the claim (ack wait 2 s), polling the table.
    const later: Clock = { now: () => new Date(Date.now() + 3_000) };
    const survivor = await bed.start({ consumers: ['notifier'], module: probeModule, topology, clock: later, pollIntervalMs: 50 });

    await waitFor(async () => (await queued(event.eventId, 'notifier')).length === 0, { description: 'the message recovered and acknowledged' });
    expect(deliveriesOf(event.requestId)).toEqual([1, 2]);
    await survivor.close();
    for (const release of gates.splice(0)) release();
    await crashed.close();
  });
});
