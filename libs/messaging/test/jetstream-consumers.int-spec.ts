import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { AuthRequestCreated, LifecycleEvent } from '@ciba/domain';
import {
  type BusBatchContext,
  connectNats,
  defineTopology,
  ensureStreams,
  JetStreamEventPublisher,
  JetStreamServer,
  jetStreamConsumerLag,
  OnBusBatch,
  subjectFor,
  totalLag,
} from '../src/index.js';
import { createdEvent as fixtureEvent } from './event-fixtures.js';
import { ProbeModule, probe } from './handler-probe.js';

jest.setTimeout(60_000);

const NATS_URL = process.env['CIBA_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const prefix = `t${randomBytes(5).toString('hex')}`;
const topology = defineTopology({
  prefix,
  consumers: {
    notifier: { maxDeliver: 3, ackWaitMs: 5_000, backoffMs: [300] },
    // Its own in-flight limit, in place of the bus's 8: batches of at most 5.
    audit: { maxDeliver: 3, ackWaitMs: 5_000, backoffMs: [300], maxInFlight: 5 },
  },
});
const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
const createdEvent = (): AuthRequestCreated => fixtureEvent({}, prefix);

async function waitFor(condition: () => boolean | Promise<boolean>, description: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${description}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The audit's batch handler: what it was given, and what it does with the next batch. */
const batches: Array<{ readonly events: readonly LifecycleEvent[]; readonly context: BusBatchContext }> = [];
let nextBatch: () => Promise<void> = () => Promise.resolve();

@Controller()
class AuditBatchProbe {
  @OnBusBatch('audit')
  async onEvents(@Payload() events: readonly LifecycleEvent[], @Ctx() context: unknown): Promise<void> {
    batches.push({ events, context: context as BusBatchContext });
    await nextBatch();
  }
}

@Module({ controllers: [AuditBatchProbe] })
class AuditBatchModule {}

let nc: NatsConnection;
let jsm: JetStreamManager;
let publisher: JetStreamEventPublisher;
const apps: INestMicroservice[] = [];
const gates: Array<() => void> = [];

async function startService(consumers: string[], module: object, maxInFlight = 8): Promise<INestMicroservice> {
  const strategy = new JetStreamServer({ servers: NATS_URL, name: `${prefix}-test`, consumers, topology, logger: silent, maxInFlight, retry: { jitterRatio: 0 } });
  const app = await NestFactory.createMicroservice(module as typeof ProbeModule, { strategy, logger: false });
  await app.listen();
  apps.push(app);
  return app;
}

const lagOf = async (consumer: string) => (await jetStreamConsumerLag(jsm, topology, [consumer]))[0];
const caughtUp = async (consumer: string) => totalLag([await lagOf(consumer)]) === 0;
const delivered = () => batches.flatMap((batch) => batch.events.map((event) => event.eventId));

beforeAll(async () => {
  nc = await connectNats({ servers: NATS_URL, name: `${prefix}-test-client` });
  jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, topology);
  publisher = new JetStreamEventPublisher({ connection: nc, topology });
});

afterEach(async () => {
  for (const release of gates.splice(0)) release();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  probe.calls.length = 0;
  probe.behaviour.clear();
  batches.length = 0;
  nextBatch = () => Promise.resolve();
});

afterAll(async () => {
  await jsm.streams.delete(topology.lifecycleStream.name).catch(() => false);
  await jsm.streams.delete(topology.deadLetterStream.name).catch(() => false);
  await nc.drain();
});

describe('JetStream consumers keep up', () => {
  it('head-of-line blocking: while one handler blocks, the consumer handles the messages pulled with it and after it', async () => {
    await startService(['notifier'], ProbeModule, 4);
    const [slow, ...others] = Array.from({ length: 7 }, () => createdEvent());
    probe.behaviour.set(slow.requestId, () => new Promise<void>((resolve) => gates.push(resolve)));

    await publisher.publish(slow);
    await waitFor(() => probe.of('notifier', slow.requestId).length === 1, 'the slow handler started');
    for (const event of others) await publisher.publish(event);

    await waitFor(() => others.every((event) => probe.of('notifier', event.requestId).length === 1), 'the others handled while the first blocks');
    expect(await lagOf('notifier')).toEqual({ consumer: 'notifier', waiting: 0, inFlight: 1 });
    for (const release of gates.splice(0)) release();
    await waitFor(() => caughtUp('notifier'), 'the notifier caught up');
  });

  it('lag: jetStreamConsumerLag counts what waits for delivery and what waits for an ack', async () => {
    const events = Array.from({ length: 5 }, () => createdEvent());
    for (const event of events) await publisher.publish(event);
    expect(await lagOf('notifier')).toEqual({ consumer: 'notifier', waiting: 5, inFlight: 0 });

    probe.behaviour.set(events[0].requestId, () => new Promise<void>((resolve) => gates.push(resolve)));
    await startService(['notifier'], ProbeModule);
    await waitFor(async () => (await lagOf('notifier')).waiting === 0 && (await lagOf('notifier')).inFlight === 1, 'four handled, one held');
    for (const release of gates.splice(0)) release();
    await waitFor(() => caughtUp('notifier'), 'the notifier caught up');
  });

  it('audit batches: the events at hand reach the batch handler in fewer calls than events, each once, acknowledged after it returns', async () => {
    const events = Array.from({ length: 20 }, () => createdEvent());
    for (const event of events) await publisher.publish(event);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    nextBatch = () => held;

    await startService(['audit'], AuditBatchModule, 8);
    await waitFor(() => batches.length >= 1, 'the first batch');
    // Held: nothing of it acknowledged yet.
    expect((await lagOf('audit')).inFlight).toBeGreaterThanOrEqual(batches[0].events.length);
    nextBatch = () => Promise.resolve();
    release();

    await waitFor(() => caughtUp('audit'), 'the audit consumer caught up');
    // The audit consumer receives every event of the stream: those of the tests before too.
    const ours = new Set(events.map((event) => event.eventId));
    expect(delivered().filter((id) => ours.has(id)).sort()).toEqual([...ours].sort());
    expect(batches.length).toBeLessThan(events.length);
    expect(batches.every((batch) => batch.events.length <= 5 && batch.context.consumer === 'audit')).toBe(true);
    expect(batches.some((batch) => batch.events.length === 5)).toBe(true);
  });

  it('audit batches: a failing batch is acknowledged in no part; every message of it is redelivered, alone', async () => {
    const events = Array.from({ length: 4 }, () => createdEvent());
    for (const event of events) await publisher.publish(event);
    let failures = 1;
    nextBatch = () => (failures-- > 0 ? Promise.reject(new Error('insert failed')) : Promise.resolve());

    await startService(['audit'], AuditBatchModule, 8);
    await waitFor(() => caughtUp('audit'), 'the audit consumer caught up');

    const retried = batches.slice(1);
    expect(batches[0].events.length + retried.length).toBeGreaterThanOrEqual(events.length + 1);
    const redelivered = retried.filter((batch) => batch.context.deliveries[0].deliveryCount === 2);
    expect(redelivered.every((batch) => batch.events.length === 1)).toBe(true);
    expect(redelivered.map((batch) => batch.events[0].eventId).sort()).toEqual(batches[0].events.map((event) => event.eventId).sort());
    expect([...new Set(delivered())].sort()).toEqual(events.map((event) => event.eventId).sort());
  });

  it('a message of a type this process has no handler for is acknowledged unread (the callback dispatcher sees every event)', async () => {
    await startService(['callback-dispatcher'], ProbeModule);
    // Not even valid JSON: it is never decoded, so not dead-lettered either.
    await jetstream(nc).publish(subjectFor('auth_request.created', topology), new TextEncoder().encode('{'), { msgID: `${prefix}-unread` });
    await waitFor(() => caughtUp('callback-dispatcher'), 'the dispatcher caught up');
    expect((await jsm.streams.info(topology.deadLetterStream.name)).state.messages).toBe(0);
  });
});
