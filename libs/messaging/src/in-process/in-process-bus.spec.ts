import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import type { AuthRequestApproved } from '@ciba/domain';
import { defineTopology, HEADERS, subjectFor } from '../catalogue.js';
import { PermanentError } from '../errors.js';
import { InProcessEventPublisher, InProcessServer, InProcessWakeup } from './in-process-bus.js';
import { createdEvent } from '../../test/event-fixtures.js';
import { ProbeModule, probe } from '../../test/handler-probe.js';
import { InMemoryQueueStore } from '../../test/in-memory-queue-store.js';

// ---------------------------------------------------------------- test doubles

@Controller()
class BareHandlers {
  @EventPattern('auth_request.approved')
  async onApproved(@Payload() event: unknown, @Ctx() context: unknown): Promise<void> {
    await probe.record('bare', event as AuthRequestApproved, context);
  }
}

@Module({ controllers: [BareHandlers] })
class BareModule {}

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}


function approvedEvent(): AuthRequestApproved {
  const { requestId, clientId, subject, occurredAt, correlationId } = createdEvent();
  const eventId = `${requestId}:auth_request.approved`;
  return { type: 'auth_request.approved', version: 1, eventId, requestId, clientId, subject, occurredAt, correlationId };
}

// ---------------------------------------------------------------- harness

const topology = defineTopology({
  consumers: { notifier: { maxDeliver: 3, backoffMs: [150, 300], ackWaitMs: 5_000 } },
});

const apps: INestMicroservice[] = [];

async function startBus(options: {
  store: InMemoryQueueStore;
  wakeup?: InProcessWakeup;
  consumers?: string[];
  module?: object;
  pollIntervalMs?: number;
}) {
  const wakeup = options.wakeup ?? new InProcessWakeup();
  const server = new InProcessServer({
    store: options.store,
    consumers: options.consumers ?? ['notifier', 'audit', 'callback-dispatcher'],
    topology,
    wakeup,
    logger: silent,
    pollIntervalMs: options.pollIntervalMs ?? 60_000,
    retry: { jitterRatio: 0 },
  });
  const app = await NestFactory.createMicroservice((options.module ?? ProbeModule) as typeof ProbeModule, {
    strategy: server,
    logger: false,
  });
  await app.listen();
  apps.push(app);
  const publisher = new InProcessEventPublisher({ store: options.store, topology, wakeup });
  return { app, publisher, wakeup };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  probe.calls.length = 0;
  probe.behaviour.clear();
});

// ---------------------------------------------------------------- tests

describe('in-process bus', () => {
  it('delivers an event once to every consumer whose filter matches, with the bus context', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startBus({ store });
    const created = createdEvent();
    const approved = approvedEvent();

    await publisher.publish(created);
    await publisher.publish(approved);
    // A long fallback poll: only the hand-over can make this prompt. Three deliveries: notifier
    // (created), audit (both). The callback-dispatcher has no handler in this module, so nothing is
    // stored for it.
    await waitFor(() => store.acked.length === 3, 2_000);
    expect(store.acked.filter((row) => row.consumer === 'callback-dispatcher')).toEqual([]);

    expect(probe.of('notifier').map((call) => call.event)).toEqual([created]);
    expect(probe.of('notifier')[0].context).toEqual({
      consumer: 'notifier',
      subject: 'ciba.lifecycle.auth_request.created',
      deliveryCount: 1,
      correlationId: created.correlationId,
    });
    expect(probe.of('audit').map((call) => call.event.eventId).sort()).toEqual([approved.eventId, created.eventId].sort());
    expect(store.rows.size).toBe(0);
  });

  it('stores a republished event id once per consumer', async () => {
    const store = new InMemoryQueueStore();
    const publisher = new InProcessEventPublisher({ store, topology });
    const event = createdEvent();
    await publisher.publish(event);
    await publisher.publish(event);
    expect([...store.rows.values()].map((row) => [row.consumer, row.messageId, row.subject, row.headers])).toEqual([
      ['notifier', event.eventId, subjectFor('auth_request.created'), { [HEADERS.correlationId]: event.correlationId }],
      ['audit', event.eventId, subjectFor('auth_request.created'), { [HEADERS.correlationId]: event.correlationId }],
      ['callback-dispatcher', event.eventId, subjectFor('auth_request.created'), { [HEADERS.correlationId]: event.correlationId }],
    ]);
  });

  it('retries a failing handler with the backoff delays, then acks', async () => {
    const store = new InMemoryQueueStore();
    // The fallback poll is what notices a delayed retry becoming visible.
    const { publisher } = await startBus({ store, consumers: ['notifier'], pollIntervalMs: 20 });
    const event = createdEvent();
    probe.behaviour.set(event.requestId, (n) => {
      if (n < 3) throw new Error(`attempt ${n} failed`);
    });

    await publisher.publish(event);
    await waitFor(() => store.acked.length === 1);

    const calls = probe.of('notifier', event.requestId);
    expect(calls.map((call) => call.context.deliveryCount)).toEqual([1, 2, 3]);
    expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(150);
    expect(calls[2].at - calls[1].at).toBeGreaterThanOrEqual(300);
    expect(store.deadLetters).toEqual([]);
  });

  it('dead-letters a handler that keeps failing after maxDeliver deliveries', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startBus({ store, consumers: ['notifier'], pollIntervalMs: 20 });
    const event = createdEvent();
    probe.behaviour.set(event.requestId, () => {
      throw new Error('device unreachable');
    });

    await publisher.publish(event);
    await waitFor(() => store.deadLetters.length === 1);

    expect(probe.of('notifier', event.requestId)).toHaveLength(3);
    // Nest's exception filter hides an unknown error's message from the transport; it logs it instead.
    expect(store.deadLetters[0]).toMatchObject({
      consumer: 'notifier',
      messageId: event.eventId,
      reason: expect.stringMatching(/^gave up after 3 deliveries \(max 3\)/),
    });
  });

  it('dead-letters a PermanentError at once', async () => {
    const store = new InMemoryQueueStore();
    const { publisher } = await startBus({ store, consumers: ['notifier'] });
    const event = createdEvent();
    probe.behaviour.set(event.requestId, () => {
      throw new PermanentError('client has no notification endpoint');
    });

    await publisher.publish(event);
    await waitFor(() => store.deadLetters.length === 1);

    expect(probe.of('notifier', event.requestId)).toHaveLength(1);
    expect(store.deadLetters[0].reason).toBe('permanent failure: client has no notification endpoint');
  });

  it('dead-letters a malformed message without calling a handler', async () => {
    const store = new InMemoryQueueStore();
    const wakeup = new InProcessWakeup();
    await startBus({ store, wakeup, consumers: ['notifier'] });

    await store.enqueue(['notifier'], subjectFor('auth_request.created', topology), 'bad-1', { type: 'auth_request.created', version: 7 }, {});
    wakeup.notify();
    await waitFor(() => store.deadLetters.length === 1);

    expect(probe.calls).toEqual([]);
    expect(store.deadLetters[0].reason).toBe('malformed message: unsupported lifecycle event version 7');
  });

  it('keeps messages published while no server runs', async () => {
    const store = new InMemoryQueueStore();
    const first = await startBus({ store, consumers: ['notifier'] });
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);

    const event = createdEvent();
    await first.publisher.publish(event);
    expect(probe.calls).toEqual([]);

    await startBus({ store, consumers: ['notifier'] });
    await waitFor(() => store.acked.length === 1);
    expect(probe.of('notifier').map((call) => call.event.eventId)).toEqual([event.eventId]);
  });

  it('falls back to the bare event-type pattern and acks what has no handler', async () => {
    const store = new InMemoryQueueStore();
    const { publisher, wakeup } = await startBus({ store, consumers: ['audit'], module: BareModule });
    const created = createdEvent();
    const approved = approvedEvent();

    // Published elsewhere (the admin tool): stored for every consumer whose filter matches.
    await new InProcessEventPublisher({ store, topology }).publish(created);
    wakeup.notify();
    await publisher.publish(approved);
    await waitFor(() => store.acked.length === 2);

    expect(probe.of('bare').map((call) => [call.event.type, call.context.consumer])).toEqual([['auth_request.approved', 'audit']]);
    expect(store.deadLetters).toEqual([]);

    // Published here: the process knows it has no handler for it, so it stores nothing for it.
    await publisher.publish(createdEvent());
    expect([...store.rows.values()].filter((row) => row.consumer === 'audit')).toEqual([]);
    expect(store.acked).toHaveLength(2);
  });

  it('waits for running handlers on close', async () => {
    const store = new InMemoryQueueStore();
    const { app, publisher } = await startBus({ store, consumers: ['notifier'] });
    const event = createdEvent();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    probe.behaviour.set(event.requestId, () => gate);

    await publisher.publish(event);
    await waitFor(() => probe.calls.length === 1);
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    apps.splice(apps.indexOf(app), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);

    release();
    await closing;
    expect(store.acked.map((row) => row.messageId)).toEqual([event.eventId]);
  });
});
