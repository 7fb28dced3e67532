import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Clock } from '@ciba/domain';
import { defineTopology, subjectFor } from '../catalogue.js';
import { InProcessEventPublisher, InProcessServer, InProcessWakeup } from './in-process-bus.js';
import { createdEvent } from '../../test/event-fixtures.js';
import { ProbeModule, probe } from '../../test/handler-probe.js';
import { InMemoryQueueStore } from '../../test/in-memory-queue-store.js';

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
const topology = defineTopology({ consumers: { notifier: { maxDeliver: 3, backoffMs: [150, 300], ackWaitMs: 5_000 } } });

async function waitFor(condition: () => boolean, description: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${description}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A gate a handler waits on until the test opens it. */
function gate(): { readonly wait: () => Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => opened, open };
}

const apps: INestMicroservice[] = [];
const gates: Array<() => void> = [];

/** One process: a server with the probe's notifier handler and the publisher beside it (sharing a wake-up). */
async function startProcess(store: InMemoryQueueStore, options: { maxInFlight?: number; pollIntervalMs?: number; clock?: Clock } = {}) {
  const wakeup = new InProcessWakeup();
  const server = new InProcessServer({
    store,
    consumers: ['notifier'],
    topology,
    wakeup,
    logger: silent,
    maxInFlight: options.maxInFlight ?? 4,
    // Long by default: only a hand-over, a wake-up or a freed slot can make delivery prompt.
    pollIntervalMs: options.pollIntervalMs ?? 60_000,
    clock: options.clock,
    retry: { jitterRatio: 0 },
  });
  const app = await NestFactory.createMicroservice(ProbeModule, { strategy: server, logger: false });
  await app.listen();
  apps.push(app);
  return { app, wakeup, publisher: new InProcessEventPublisher({ store, topology, wakeup }) };
}

const handled = (requestId: string) => probe.of('notifier', requestId).length > 0;

afterEach(async () => {
  for (const open of gates.splice(0)) open();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  probe.calls.length = 0;
  probe.behaviour.clear();
});

describe('in-process consumer: a slot per message', () => {
  it('head-of-line blocking: a claimed message whose handler blocks does not hold up the rest of the batch, nor the next claim', async () => {
    const store = new InMemoryQueueStore();
    const events = Array.from({ length: 6 }, () => createdEvent());
    const slow = gate();
    gates.push(slow.open);
    probe.behaviour.set(events[0].requestId, () => slow.wait());
    // Stored before the server starts: every one comes through claims of up to four (the slots).
    for (const event of events) await store.enqueue(['notifier'], subjectFor(event.type, topology), event.eventId, { ...event }, {});

    await startProcess(store, { maxInFlight: 4 });

    // Five handled while the first still blocks: the fifth and sixth need claims after slots freed.
    await waitFor(() => events.slice(1).every((event) => handled(event.requestId)), 'the other messages handled');
    // A handler's call is recorded before its message is settled: wait for the five acknowledgements.
    await waitFor(() => store.acked.length >= 5, 'the other messages acknowledged');
    expect(store.acked.map((row) => row.messageId).sort()).toEqual(events.slice(1).map((event) => event.eventId).sort());
    slow.open();
    await waitFor(() => store.acked.length === 6, 'the slow one acknowledged once released');
  });

  it('head-of-line blocking: a message published while a handler blocks is handled at once', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startProcess(store);
    const [first, second, third] = [createdEvent(), createdEvent(), createdEvent()];
    const slow = gate();
    gates.push(slow.open);
    probe.behaviour.set(first.requestId, () => slow.wait());

    await publisher.publish(first);
    await waitFor(() => handled(first.requestId), 'the first handler started');
    await publisher.publish(second);
    await publisher.publish(third);

    await waitFor(() => handled(second.requestId) && handled(third.requestId), 'the later messages handled');
    expect(store.acked.map((row) => row.messageId).sort()).toEqual([second.eventId, third.eventId].sort());
  });

  it('hand-over: a message published in the consuming process reaches its handler without a claim, as its first delivery', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startProcess(store);
    await waitFor(() => store.calls['claim'] === 1, 'the claim at start');
    const event = createdEvent();

    await publisher.publish(event);
    await waitFor(() => store.acked.length === 1, 'the message acknowledged');

    expect(store.calls['claim']).toBe(1);
    expect(store.calls['enqueue']).toBe(1);
    expect(probe.of('notifier', event.requestId).map((call) => call.context.deliveryCount)).toEqual([1]);
  });

  it('hand-over keeps the in-flight limit: with every slot busy a message waits in the table and is claimed when a slot frees', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startProcess(store, { maxInFlight: 1 });
    const [first, second] = [createdEvent(), createdEvent()];
    const slow = gate();
    gates.push(slow.open);
    probe.behaviour.set(first.requestId, () => slow.wait());

    await publisher.publish(first);
    await waitFor(() => handled(first.requestId), 'the first handler started');
    await publisher.publish(second);
    // Stored visible (not claimed), and not handled while the only slot is taken.
    const waiting = [...store.rows.values()].find((row) => row.messageId === second.eventId);
    expect(waiting?.deliveries).toBe(0);
    expect(handled(second.requestId)).toBe(false);

    slow.open();
    await waitFor(() => store.acked.length === 2, 'both acknowledged');
    expect(probe.of('notifier', second.requestId).map((call) => call.context.deliveryCount)).toEqual([1]);
  });

  it('crash recovery: a message handed over to a process that never settles it is claimed from the table once its claim runs out', async () => {
    const store = new InMemoryQueueStore();
    const first = await startProcess(store);
    const event = createdEvent();
    const stuck = gate();
    gates.push(stuck.open);
    // The first process takes the message and then "dies": its handler never returns.
    probe.behaviour.set(event.requestId, (delivery) => (delivery === 1 ? stuck.wait() : undefined));
    await first.publisher.publish(event);
    await waitFor(() => handled(event.requestId), 'the first delivery started');

    // Another process, whose clock is past the claim (ack wait 5 s), polling the table.
    const later: Clock = { now: () => new Date(Date.now() + 6_000) };
    await startProcess(store, { clock: later, pollIntervalMs: 20 });

    await waitFor(() => store.acked.length === 1, 'the message recovered and acknowledged');
    expect(probe.of('notifier', event.requestId).map((call) => call.context.deliveryCount)).toEqual([1, 2]);
  });
});
