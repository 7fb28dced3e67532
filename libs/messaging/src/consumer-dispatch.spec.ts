import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import type { LifecycleEvent } from '@ciba/domain';
import { OnBusBatch } from './bus-event.decorator.js';
import type { BusBatchContext } from './bus-context.js';
import { defineTopology, subjectFor } from './catalogue.js';
import { InProcessServer, InProcessWakeup } from './in-process/in-process-bus.js';
import { createdEvent } from '../test/event-fixtures.js';
import { InMemoryQueueStore } from '../test/in-memory-queue-store.js';

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
const auditRetries = { maxDeliver: 3, backoffMs: [50], ackWaitMs: 5_000 };
const topology = defineTopology({ consumers: { audit: auditRetries } });

async function waitFor(condition: () => boolean, description: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${description}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What the audit's batch handler was given, and what it does with the next batch. */
const batches: Array<{ readonly events: readonly LifecycleEvent[]; readonly context: BusBatchContext }> = [];
let nextBatch: (events: readonly LifecycleEvent[]) => Promise<void> = () => Promise.resolve();

@Controller()
class BatchProbe {
  @OnBusBatch('audit')
  async onEvents(@Payload() events: readonly LifecycleEvent[], @Ctx() context: unknown): Promise<void> {
    batches.push({ events, context: context as BusBatchContext });
    await nextBatch(events);
  }
}

@Module({ controllers: [BatchProbe] })
class BatchProbeModule {}

const apps: INestMicroservice[] = [];

/**
 * Stores `count` audit messages, then starts the consumer on a bus of concurrency 8: they come
 * through claims of up to `auditInFlight` (null: the audit consumer's own limit).
 */
async function startWithBacklog(store: InMemoryQueueStore, count: number, auditInFlight: number | null = 8) {
  const events = Array.from({ length: count }, () => createdEvent());
  for (const event of events) await store.enqueue(['audit'], subjectFor(event.type, topology), event.eventId, { ...event }, {});
  const wakeup = new InProcessWakeup();
  const consumers = defineTopology({ consumers: { audit: auditInFlight === null ? auditRetries : { ...auditRetries, maxInFlight: auditInFlight } } });
  const server = new InProcessServer({ store, consumers: ['audit'], topology: consumers, wakeup, logger: silent, maxInFlight: 8, pollIntervalMs: 20, retry: { jitterRatio: 0 } });
  const app = await NestFactory.createMicroservice(BatchProbeModule, { strategy: server, logger: false });
  await app.listen();
  apps.push(app);
  return { events, wakeup };
}

const delivered = () => batches.flatMap((batch) => batch.events.map((event) => event.eventId));

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  batches.length = 0;
  nextBatch = () => Promise.resolve();
});

describe('batch consumers (OnBusBatch)', () => {
  it('hands the messages at hand to the batch handler together, and acknowledges none before it resolves', async () => {
    const store = new InMemoryQueueStore();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nextBatch = () => held;

    const { events } = await startWithBacklog(store, 12, 8);
    await waitFor(() => batches.length === 1, 'the first batch');
    expect(batches[0].events).toHaveLength(8);
    expect(batches[0].context.deliveries.map((context) => [context.consumer, context.deliveryCount])).toEqual(
      Array.from({ length: 8 }, () => ['audit', 1]),
    );
    expect(store.acked).toEqual([]);

    nextBatch = () => Promise.resolve();
    release();
    await waitFor(() => store.acked.length === 12, 'every message acknowledged');
    expect(batches.length).toBeLessThan(12);
    expect(delivered().sort()).toEqual(events.map((event) => event.eventId).sort());
    expect(store.calls['ackMany']).toBeLessThan(12);
  });

  it('the audit consumer’s own in-flight limit (256) replaces the bus concurrency: a backlog of 40 goes to the handler as one batch', async () => {
    const store = new InMemoryQueueStore();
    const { events } = await startWithBacklog(store, 40, null);
    await waitFor(() => store.acked.length === 40, 'every message acknowledged');

    expect(topology.consumers.find((consumer) => consumer.name === 'audit')?.maxInFlight).toBe(256);
    expect(batches.map((batch) => batch.events.length)).toEqual([40]);
    expect(delivered().sort()).toEqual(events.map((event) => event.eventId).sort());
  });

  it('a batch waits the consumer’s linger for later messages: events of different moments share one handler call', async () => {
    const store = new InMemoryQueueStore();
    const { events, wakeup } = await startWithBacklog(store, 1);
    // Well inside the audit consumer's 500 ms window, a second event of the flow arrives.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = createdEvent();
    await store.enqueue(['audit'], subjectFor(later.type, topology), later.eventId, { ...later }, {});
    wakeup.notify(['audit']);
    await waitFor(() => store.acked.length === 2, 'both messages acknowledged');

    expect(topology.consumers.find((consumer) => consumer.name === 'audit')?.batchLingerMs).toBe(500);
    expect(batches).toHaveLength(1);
    expect(delivered().sort()).toEqual([events[0].eventId, later.eventId].sort());
  });

  it('a failing batch leaves every one of its messages unacknowledged; each is retried, alone', async () => {
    const store = new InMemoryQueueStore();
    let failures = 1;
    nextBatch = () => (failures-- > 0 ? Promise.reject(new Error('insert failed')) : Promise.resolve());

    const { events } = await startWithBacklog(store, 5);
    await waitFor(() => store.acked.length === 5, 'every message acknowledged after the retry');

    expect(batches[0].events).toHaveLength(5);
    expect(store.calls['nak']).toBe(5);
    const retried = batches.slice(1);
    expect(retried.every((batch) => batch.events.length === 1 && batch.context.deliveries[0].deliveryCount === 2)).toBe(true);
    expect(retried.flatMap((batch) => batch.events.map((event) => event.eventId)).sort()).toEqual(events.map((event) => event.eventId).sort());
  });

  it('dead-letters a malformed message alone; the rest of its batch is handled', async () => {
    const store = new InMemoryQueueStore();
    await store.enqueue(['audit'], subjectFor('auth_request.created', topology), 'bad-1', { type: 'auth_request.created', version: 7 }, {});

    const { events } = await startWithBacklog(store, 3);
    await waitFor(() => store.acked.length === 3 && store.deadLetters.length === 1, 'settled');

    expect(store.deadLetters[0].reason).toBe('malformed message: unsupported lifecycle event version 7');
    expect(delivered().sort()).toEqual(events.map((event) => event.eventId).sort());
  });
});
