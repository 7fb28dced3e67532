import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { AuthRequestCreated, LifecycleEvent } from '@ciba/domain';
import {
  connectNats,
  deadLetterSubjectFor,
  defineTopology,
  ensureStreams,
  HEADERS,
  JetStreamEventPublisher,
  JetStreamServer,
  PermanentError,
  RetryableError,
  subjectFor,
} from '../src/index.js';
import { createdEvent as fixtureEvent } from './event-fixtures.js';
import { ProbeModule, probe } from './handler-probe.js';

jest.setTimeout(30_000);

const NATS_URL = process.env['CIBA_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

// Random stream and subject names: other test files may use the CIBA_* streams at the same time.
const prefix = `t${randomBytes(5).toString('hex')}`;
const topology = defineTopology({
  prefix,
  consumers: {
    notifier: { maxDeliver: 3, ackWaitMs: 2_000, backoffMs: [300, 600] },
    audit: { maxDeliver: 3, ackWaitMs: 2_000, backoffMs: [100] },
  },
});
const lifecycleStream = topology.lifecycleStream.name;
const deadLetterStream = topology.deadLetterStream.name;

// ---------------------------------------------------------------- probe handlers


const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const createdEvent = (overrides: Partial<AuthRequestCreated> = {}): AuthRequestCreated => fixtureEvent(overrides, prefix);

// ---------------------------------------------------------------- harness

let nc: NatsConnection;
let jsm: JetStreamManager;
let js: JetStreamClient;
let publisher: JetStreamEventPublisher;
const apps: INestMicroservice[] = [];

async function startService(consumers: string[] = ['notifier']): Promise<INestMicroservice> {
  const strategy = new JetStreamServer({
    servers: NATS_URL,
    name: `${prefix}-test`,
    consumers,
    topology,
    logger: silent,
    retry: { jitterRatio: 0 },
  });
  const app = await NestFactory.createMicroservice(ProbeModule, { strategy, logger: false });
  await app.listen();
  apps.push(app);
  return app;
}

async function stopService(app: INestMicroservice): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

/** True once the consumer has nothing left to deliver and nothing unacknowledged. */
async function consumerSettled(name: string): Promise<boolean> {
  const info = await jsm.consumers.info(lifecycleStream, name);
  return info.num_pending === 0 && info.num_ack_pending === 0;
}

async function deadLetter(consumer: string, type: string) {
  return jsm.streams.getMessage(deadLetterStream, { last_by_subj: deadLetterSubjectFor(consumer, type, topology) });
}

beforeAll(async () => {
  nc = await connectNats({ servers: NATS_URL, name: `${prefix}-test-client` });
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  await ensureStreams(jsm, topology);
  publisher = new JetStreamEventPublisher({ connection: nc, topology });
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  probe.calls.length = 0;
  probe.behaviour.clear();
});

afterAll(async () => {
  await jsm.streams.delete(lifecycleStream).catch(() => false);
  await jsm.streams.delete(deadLetterStream).catch(() => false);
  await nc.drain();
});

// ---------------------------------------------------------------- tests

describe('JetStream bus', () => {
  it('creates the streams and durable consumers idempotently', async () => {
    await ensureStreams(jsm, topology);
    await ensureStreams(jsm, topology);

    const stream = await jsm.streams.info(lifecycleStream);
    expect(stream.config.subjects).toEqual([`${prefix}.ciba.lifecycle.>`]);
    expect(stream.config.storage).toBe('file');
    expect(stream.config.duplicate_window).toBe(120_000_000_000);
    expect(stream.config.max_age).toBe(7 * 24 * 3600 * 1_000_000_000);
    const dlq = await jsm.streams.info(deadLetterStream);
    expect(dlq.config.subjects).toEqual([`${prefix}.ciba.dlq.>`]);
    expect(dlq.config.max_age).toBe(30 * 24 * 3600 * 1_000_000_000);

    const notifier = await jsm.consumers.info(lifecycleStream, 'notifier');
    expect(notifier.config).toMatchObject({
      durable_name: 'notifier',
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}.ciba.lifecycle.auth_request.created`,
      ack_wait: 2_000_000_000,
      max_deliver: 4, // maxDeliver + the spare delivery
    });
    const audit = await jsm.consumers.info(lifecycleStream, 'audit');
    expect(audit.config.filter_subject).toBe(`${prefix}.ciba.lifecycle.>`);
  });

  it('delivers a published event exactly once to the @EventPattern handler, with the bus context', async () => {
    await startService(['notifier', 'audit']);
    const event = createdEvent();

    await publisher.publish(event);
    await waitFor(() => probe.of('notifier', event.requestId).length === 1 && probe.of('audit', event.requestId).length === 1);
    await waitFor(async () => (await consumerSettled('notifier')) && (await consumerSettled('audit')));

    const [call] = probe.of('notifier', event.requestId);
    expect(call.event).toEqual(event);
    expect(call.context).toEqual({
      consumer: 'notifier',
      subject: subjectFor('auth_request.created', topology),
      deliveryCount: 1,
      correlationId: event.correlationId,
    });
    expect(probe.calls).toHaveLength(2);
    expect((await jsm.consumers.info(lifecycleStream, 'notifier')).num_redelivered).toBe(0);
  });

  it('stores a republished event id once (duplicate window)', async () => {
    const before = (await jsm.streams.info(lifecycleStream)).state.messages;
    const event = createdEvent();

    const first = await publisher.publishWithAck(event);
    const second = await publisher.publishWithAck(event);
    await publisher.publish(event);

    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
    expect((await jsm.streams.info(lifecycleStream)).state.messages).toBe(before + 1);
    const stored = await jsm.streams.getMessage(lifecycleStream, { seq: first.seq });
    expect(stored?.header.get(HEADERS.messageId)).toBe(event.eventId);
  });

  it('retries a handler that throws twice, with the backoff delays, then acks', async () => {
    const service = await startService(['notifier']);
    const event = createdEvent();
    probe.behaviour.set(event.requestId, (n) => {
      if (n === 1) throw new Error('device push gateway down');
      if (n === 2) throw new RetryableError('still down');
    });

    await publisher.publish(event);
    await waitFor(() => probe.of('notifier', event.requestId).length === 3);
    await waitFor(() => consumerSettled('notifier'));

    const calls = probe.of('notifier', event.requestId);
    expect(calls.map((call) => call.context.deliveryCount)).toEqual([1, 2, 3]);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(300 - 20);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(600 - 20);
    expect(await deadLetter('notifier', 'auth_request.created').catch(() => null)).toBeNull();
    await stopService(service);
  });

  it('dead-letters a handler that always throws after maxDeliver, with the reason header', async () => {
    await startService(['notifier']);
    const event = createdEvent();
    probe.behaviour.set(event.requestId, () => {
      throw new RetryableError('device unreachable', 50);
    });

    await publisher.publish(event);
    await waitFor(async () => (await deadLetter('notifier', 'auth_request.created').catch(() => null))?.json<LifecycleEvent>().eventId === event.eventId);

    expect(probe.of('notifier', event.requestId).map((call) => call.context.deliveryCount)).toEqual([1, 2, 3]);
    const dead = await deadLetter('notifier', 'auth_request.created');
    expect(dead?.json<LifecycleEvent>()).toEqual(event);
    expect(dead?.header.get(HEADERS.deadLetterReason)).toBe('gave up after 3 deliveries (max 3): device unreachable');
    expect(dead?.header.get(HEADERS.deadLetterConsumer)).toBe('notifier');
    expect(dead?.header.get(HEADERS.originalSubject)).toBe(subjectFor('auth_request.created', topology));
    expect(dead?.header.get(HEADERS.deliveryCount)).toBe('3');
    expect(dead?.header.get(HEADERS.correlationId)).toBe(event.correlationId);
    // Terminated: no spare delivery follows.
    await waitFor(async () => (await jsm.consumers.info(lifecycleStream, 'notifier')).num_ack_pending === 0);
    expect(probe.of('notifier', event.requestId)).toHaveLength(3);
  });

  it('dead-letters a PermanentError on the first delivery', async () => {
    await startService(['notifier']);
    const event = createdEvent();
    probe.behaviour.set(event.requestId, () => {
      throw new PermanentError('client has no notification endpoint');
    });

    await publisher.publish(event);
    await waitFor(async () => (await deadLetter('notifier', 'auth_request.created').catch(() => null))?.json<LifecycleEvent>().eventId === event.eventId);

    expect(probe.of('notifier', event.requestId)).toHaveLength(1);
    const dead = await deadLetter('notifier', 'auth_request.created');
    expect(dead?.header.get(HEADERS.deadLetterReason)).toBe('permanent failure: client has no notification endpoint');
  });

  it('dead-letters a malformed message without calling a handler', async () => {
    await startService(['audit']);

    await js.publish(subjectFor('auth_request.denied', topology), new TextEncoder().encode('{"type":"auth_request.denied"'), {
      msgID: `${prefix}-garbage`,
    });
    await waitFor(async () => (await deadLetter('audit', 'auth_request.denied').catch(() => null)) !== null);

    const dead = await deadLetter('audit', 'auth_request.denied');
    expect(dead?.header.get(HEADERS.deadLetterReason)).toBe('malformed message: message is not valid JSON');
    expect(dead?.string()).toBe('{"type":"auth_request.denied"');
    expect(probe.calls.filter((call) => call.event.type === 'auth_request.denied')).toEqual([]);
  });

  it('keeps a durable consumer across a restart: a message published while it is down arrives', async () => {
    const first = await startService(['notifier']);
    await stopService(first);

    const event = createdEvent();
    await publisher.publish(event);
    expect(probe.of('notifier', event.requestId)).toHaveLength(0);

    await startService(['notifier']);
    await waitFor(() => probe.of('notifier', event.requestId).length === 1);
    expect(probe.of('notifier', event.requestId)[0].context.deliveryCount).toBe(1);
  });

  it('carries the correlation id header into the bus context', async () => {
    await startService(['notifier']);
    // The header wins over the payload, which here has none.
    const event = createdEvent({ correlationId: null });
    const hdrs = headers();
    hdrs.set(HEADERS.correlationId, `hdr-${event.requestId}`);
    await js.publish(subjectFor('auth_request.created', topology), JSON.stringify(event), { msgID: event.eventId, headers: hdrs });
    // Published by the publisher: the payload's id becomes the header.
    const second = createdEvent();
    await publisher.publish(second);

    await waitFor(() => probe.of('notifier', event.requestId).length === 1 && probe.of('notifier', second.requestId).length === 1);
    expect(probe.of('notifier', event.requestId)[0].context.correlationId).toBe(`hdr-${event.requestId}`);
    expect(probe.of('notifier', second.requestId)[0].context.correlationId).toBe(second.correlationId);
    const stored = await jsm.streams.getMessage(lifecycleStream, { last_by_subj: subjectFor('auth_request.created', topology) });
    expect(stored?.header.get(HEADERS.correlationId)).toBe(second.correlationId);
  });

  it('double delivery: a handler running longer than the ack wait is not redelivered meanwhile (in-progress)', async () => {
    await startService(['notifier']);
    const event = createdEvent();
    // Three ack waits (2 s each): without the in-progress signal the server would hand the message
    // out again twice while the first delivery is still being handled.
    probe.behaviour.set(event.requestId, () => new Promise((resolve) => setTimeout(resolve, 6_000)));

    await publisher.publish(event);
    await waitFor(() => probe.of('notifier', event.requestId).length === 1);
    await waitFor(() => consumerSettled('notifier'), 20_000);
    expect(probe.of('notifier', event.requestId)).toHaveLength(1);
    expect((await jsm.consumers.info(lifecycleStream, 'notifier')).num_redelivered).toBe(0);
  });

  it('finishes running handlers before close returns', async () => {
    const service = await startService(['notifier']);
    const event = createdEvent();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    probe.behaviour.set(event.requestId, () => gate);

    await publisher.publish(event);
    await waitFor(() => probe.of('notifier', event.requestId).length === 1);
    let closed = false;
    const closing = stopService(service).then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);

    release();
    await closing;
    await waitFor(async () => (await jsm.consumers.info(lifecycleStream, 'notifier')).num_ack_pending === 0);
    expect(probe.of('notifier', event.requestId)).toHaveLength(1);
  });
});
