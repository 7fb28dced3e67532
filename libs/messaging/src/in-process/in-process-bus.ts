import { Logger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { Server } from '@nestjs/microservices';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { systemClock } from '@ciba/domain';
import type { Clock, DurableQueueStore, EventPublisher, LifecycleEvent, PublishOptions, QueuedMessage } from '@ciba/domain';
import { consumerDefinition, consumersFor, DEFAULT_TOPOLOGY, eventTypeOfSubject, HEADERS, subjectFor } from '../catalogue.js';
import type { BusTopology, ConsumerDefinition } from '../catalogue.js';
import { describeSettlement, handleDelivery, InFlight } from '../handler-dispatch.js';
import type { BusServerOptions, Delivery } from '../handler-dispatch.js';
import { parseLifecycleEvent } from '../lifecycle-event.schema.js';
import { retryPolicyFor } from '../settlement.js';
import type { RetryPolicy } from '../settlement.js';

/**
 * Wakes the in-process server when something was enqueued, so delivery does not wait for the next
 * poll. Versioned: a notification that lands while a consumer is claiming is not lost.
 */
export class InProcessWakeup {
  private version = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.version;
  }

  notify(): void {
    this.version++;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves on a notification after `seen`, after `timeoutMs`, or on abort, whichever is first. */
  wait(seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.version !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

export interface InProcessEventPublisherOptions {
  readonly store: DurableQueueStore;
  readonly topology?: BusTopology;
  /** Shared with the `InProcessServer`; without it the server picks messages up on its next poll. */
  readonly wakeup?: InProcessWakeup;
}

/**
 * `EventPublisher` for the single-process start: one work item per durable consumer whose filter
 * matches the event's subject. Resolves once the store has committed them.
 */
export class InProcessEventPublisher implements EventPublisher {
  private readonly topology: BusTopology;

  constructor(private readonly options: InProcessEventPublisherOptions) {
    this.topology = options.topology ?? DEFAULT_TOPOLOGY;
  }

  async publish(event: LifecycleEvent, options: PublishOptions = {}): Promise<void> {
    const subject = subjectFor(event.type, this.topology);
    const consumers = consumersFor(subject, this.topology).map((consumer) => consumer.name);
    if (consumers.length === 0) return;
    const headers: Record<string, string> = event.correlationId ? { [HEADERS.correlationId]: event.correlationId } : {};
    await this.options.store.enqueue(consumers, subject, options.messageId ?? event.eventId, { ...event }, headers);
    this.options.wakeup?.notify();
  }
}

export interface InProcessServerOptions extends BusServerOptions {
  readonly store: DurableQueueStore;
  readonly wakeup?: InProcessWakeup;
  /** Fallback poll when no wake-up arrives (other processes, delayed retries). Default 250 ms. */
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
    this.loops = this.definitions.map((definition) =>
      this.pollLoop(definition, retryPolicyFor(definition, this.options.retry)),
    );
    this._status$.next('connected');
    callback();
  }

  /** Stops claiming and waits for running handlers. */
  async close(): Promise<void> {
    this.stop.abort();
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

  private async pollLoop(definition: ConsumerDefinition, policy: RetryPolicy): Promise<void> {
    while (!this.stop.signal.aborted) {
      const seen = this.wakeup.current;
      let claimed: QueuedMessage[] = [];
      try {
        claimed = await this.options.store.claim(definition.name, this.maxInFlight, definition.ackWaitMs, this.clock.now());
      } catch (error) {
        this.emitError(error);
      }
      if (claimed.length === 0) {
        await this.wakeup.wait(seen, this.pollIntervalMs, this.stop.signal);
        continue;
      }
      await Promise.allSettled(claimed.map((message) => this.inFlight.track(this.process(definition, policy, message))));
    }
  }

  private async process(definition: ConsumerDefinition, policy: RetryPolicy, message: QueuedMessage): Promise<void> {
    const delivery: Delivery = {
      consumer: definition.name,
      subject: message.subject,
      deliveryCount: message.deliveries,
      correlationId: message.headers[HEADERS.correlationId] || null,
      subjectType: eventTypeOfSubject(message.subject, this.topology),
      decode: () => parseLifecycleEvent(message.payload),
    };
    try {
      const result = await handleDelivery(delivery, (pattern) => this.getHandlerByPattern(pattern), policy);
      const { settlement } = result;
      switch (settlement.action) {
        case 'ack':
          await this.options.store.ack(message.id);
          this.logger.debug?.(describeSettlement(delivery, result));
          return;
        case 'retry':
          await this.options.store.nak(message.id, settlement.delayMs, this.clock.now());
          this.logger.warn(describeSettlement(delivery, result));
          return;
        case 'dead-letter':
          await this.options.store.deadLetter(message.id, settlement.reason);
          this.logger.error(describeSettlement(delivery, result));
          return;
      }
    } catch (error) {
      // The lease runs out and the message is claimed again.
      this.emitError(error);
    }
  }

  private emitError(error: unknown): void {
    // As an `err` field, so the logging serializer keeps a database error's input (bound values,
    // quoted text) out of the line; a bare stack string would carry the message whole.
    this.logger.error({ err: error }, 'bus error');
    for (const listener of this.listeners) listener(error);
  }
}
