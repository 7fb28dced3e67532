import { Logger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { Server } from '@nestjs/microservices';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { systemClock } from '@ciba/domain';
import type { Clock, DurableQueueStore, EventPublisher, LifecycleEvent, PublishOptions, QueuedMessage } from '@ciba/domain';
import { consumerDefinition, consumersFor, DEFAULT_TOPOLOGY, HEADERS, subjectFor } from '../catalogue.js';
import type { BusTopology, ConsumerDefinition } from '../catalogue.js';
import { ConsumerDispatch } from '../consumer-dispatch.js';
import { InFlight } from '../handler-dispatch.js';
import type { BusServerOptions } from '../handler-dispatch.js';
import { retryPolicyFor } from '../settlement.js';
import { AckBatcher, InProcessConsumer } from './in-process-consumer.js';
import type { InProcessConsumerDeps } from './in-process-consumer.js';
import { InProcessWakeup } from './in-process-wakeup.js';
import type { LocalConsumer } from './in-process-wakeup.js';

export { InProcessWakeup } from './in-process-wakeup.js';
export type { LocalConsumer } from './in-process-wakeup.js';

export interface InProcessEventPublisherOptions {
  readonly store: DurableQueueStore;
  readonly topology?: BusTopology;
  /** Shared with the `InProcessServer`; without it the server picks messages up on its next poll. */
  readonly wakeup?: InProcessWakeup;
}

/**
 * `EventPublisher` for the single-process start: one work item per durable consumer whose filter
 * matches the event's subject, all in one statement. Resolves once the store has committed them.
 * A consumer of this same process with a free slot gets its item stored already claimed and handed
 * over at once (no claim, no wait for a poll); the table stays the way back after a crash (the
 * claim runs out and the item is claimed again). A consumer of this process without a handler for
 * the event gets no item at all.
 */
export class InProcessEventPublisher implements EventPublisher {
  private readonly topology: BusTopology;

  constructor(private readonly options: InProcessEventPublisherOptions) {
    this.topology = options.topology ?? DEFAULT_TOPOLOGY;
  }

  async publish(event: LifecycleEvent, options: PublishOptions = {}): Promise<void> {
    const subject = subjectFor(event.type, this.topology);
    const wakeup = this.options.wakeup;
    const targets = consumersFor(subject, this.topology)
      .map((consumer) => ({ name: consumer.name, local: wakeup?.local(consumer.name) }))
      .filter((target) => !target.local || target.local.handles(event.type));
    if (targets.length === 0) return;
    const leasedUntil = new Map<string, Date>();
    const reserved: LocalConsumer[] = [];
    for (const { name, local } of targets) {
      const until = local?.reserve();
      if (!local || !until) continue;
      leasedUntil.set(name, until);
      reserved.push(local);
    }
    const headers: Record<string, string> = event.correlationId ? { [HEADERS.correlationId]: event.correlationId } : {};
    let handedOver: QueuedMessage[];
    try {
      const consumers = targets.map((target) => target.name);
      handedOver = await this.options.store.enqueue(consumers, subject, options.messageId ?? event.eventId, { ...event }, headers, leasedUntil);
    } catch (error) {
      for (const local of reserved) local.accept(null);
      throw error;
    }
    for (const local of reserved) local.accept(handedOver.find((message) => message.consumer === local.name) ?? null);
    // Only this process's own claim loops can be woken; the others find the rest on their next poll.
    const visible = targets.filter((target) => target.local && !leasedUntil.has(target.name)).map((target) => target.name);
    if (visible.length > 0) wakeup?.notify(visible);
  }
}

export interface InProcessServerOptions extends BusServerOptions {
  readonly store: DurableQueueStore;
  readonly wakeup?: InProcessWakeup;
  /** Fallback poll when no wake-up arrives (other processes, delayed retries, expired claims). Default 250 ms. */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
}

/** Pass as `@EventPattern(pattern, IN_PROCESS_TRANSPORT)` to bind a handler to this transport only. */
export const IN_PROCESS_TRANSPORT: unique symbol = Symbol.for('ciba:in-process');

type InProcessServerEvents = { error: (error: unknown) => void };
export type InProcessServerStatus = 'connected' | 'closed';

/**
 * Nest transport over a `DurableQueueStore`, with the same handler contract, `BusContext` and
 * retry/dead-letter policy as `JetStreamServer`.
 */
export class InProcessServer
  extends Server<InProcessServerEvents, InProcessServerStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = IN_PROCESS_TRANSPORT;
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger: LoggerService;

  private readonly topology: BusTopology;
  private readonly definitions: readonly ConsumerDefinition[];
  private readonly wakeup: InProcessWakeup;
  private readonly clock: Clock;
  private readonly pollIntervalMs: number;
  private readonly maxInFlight: number;
  private readonly inFlight = new InFlight();
  private readonly listeners: Array<(error: unknown) => void> = [];
  private readonly stop = new AbortController();
  private readonly unregister: Array<() => void> = [];
  private loops: Promise<void>[] = [];

  constructor(private readonly options: InProcessServerOptions) {
    super();
    this.topology = options.topology ?? DEFAULT_TOPOLOGY;
    this.definitions = options.consumers.map((name) => consumerDefinition(name, this.topology));
    this.wakeup = options.wakeup ?? new InProcessWakeup();
    this.clock = options.clock ?? systemClock;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.logger = options.logger ?? new Logger(InProcessServer.name);
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    const deps: InProcessConsumerDeps = {
      store: this.options.store,
      acks: new AckBatcher(this.options.store),
      wakeup: this.wakeup,
      clock: this.clock,
      topology: this.topology,
      inFlight: this.inFlight,
      logger: this.logger,
      pollIntervalMs: this.pollIntervalMs,
      signal: this.stop.signal,
      emitError: (error) => this.emitError(error),
      ...(this.options.observer ? { observer: this.options.observer } : {}),
    };
    for (const definition of this.definitions) {
      const policy = retryPolicyFor(definition, this.options.retry);
      const inFlight = definition.maxInFlight ?? this.maxInFlight;
      const dispatch = new ConsumerDispatch(definition.name, (pattern) => this.getHandlerByPattern(pattern), policy, inFlight, definition.batchLingerMs);
      const consumer = new InProcessConsumer(definition, dispatch, deps, inFlight);
      this.unregister.push(this.wakeup.register(consumer));
      this.loops.push(consumer.run());
    }
    this._status$.next('connected');
    callback();
  }

  /** Stops claiming and taking hand-overs, and waits for running handlers. */
  async close(): Promise<void> {
    this.stop.abort();
    for (const unregister of this.unregister.splice(0)) unregister();
    await Promise.allSettled(this.loops);
    await this.inFlight.drained();
    this._status$.next('closed');
  }

  on<EventKey extends keyof InProcessServerEvents = keyof InProcessServerEvents>(
    event: EventKey,
    callback: InProcessServerEvents[EventKey],
  ): void {
    if (event === 'error') this.listeners.push(callback);
  }

  unwrap<T>(): T {
    return this.options.store as T;
  }

  private emitError(error: unknown): void {
    // As an `err` field, so the logging serializer keeps a database error's input (bound values,
    // quoted text) out of the line; a bare stack string would carry the message whole.
    this.logger.error({ err: error }, 'bus error');
    for (const listener of this.listeners) listener(error);
  }
}
