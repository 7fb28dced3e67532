import type { LoggerService } from '@nestjs/common';
import type { Clock, DurableQueueStore, QueuedMessage } from '@ciba/domain';
import { eventTypeOfSubject, HEADERS } from '../catalogue.js';
import type { BusTopology, ConsumerDefinition } from '../catalogue.js';
import type { ConsumerDispatch } from '../consumer-dispatch.js';
import { describeSettlement, Slots } from '../handler-dispatch.js';
import type { BusObserver, Delivery, InFlight } from '../handler-dispatch.js';
import { parseLifecycleEvent } from '../lifecycle-event.schema.js';
import type { InProcessWakeup, LocalConsumer } from './in-process-wakeup.js';

export interface InProcessConsumerDeps {
  readonly store: DurableQueueStore;
  readonly acks: AckBatcher;
  readonly wakeup: InProcessWakeup;
  readonly clock: Clock;
  readonly topology: BusTopology;
  readonly inFlight: InFlight;
  readonly logger: LoggerService;
  readonly pollIntervalMs: number;
  readonly signal: AbortSignal;
  readonly emitError: (error: unknown) => void;
  readonly observer?: BusObserver;
}

/**
 * One durable consumer on the in-process bus. Every message holds a slot of its own from start to
 * settlement; messages come either straight from the publisher of this process (`reserve` /
 * `accept`, stored already claimed: no claim round trip) or from the table, claimed as many at a
 * time as there are free slots — at start, on a wake-up, after each fallback poll, and again as soon
 * as a slot frees while the last claim filled every slot. No message waits for another.
 */
export class InProcessConsumer implements LocalConsumer {
  private readonly slots: Slots;
  private readonly reservations: Array<() => void> = [];

  constructor(
    private readonly definition: ConsumerDefinition,
    private readonly dispatch: ConsumerDispatch,
    private readonly deps: InProcessConsumerDeps,
    maxInFlight: number,
  ) {
    this.slots = new Slots(maxInFlight);
  }

  get name(): string {
    return this.definition.name;
  }

  handles(type: string): boolean {
    return this.dispatch.handles(type);
  }

  reserve(): Date | null {
    if (this.deps.signal.aborted || !this.slots.tryAcquire()) return null;
    // Counted as running, so that closing waits for the message the publisher is about to hand over.
    this.reservations.push(this.deps.inFlight.hold());
    return new Date(this.deps.clock.now().getTime() + this.definition.ackWaitMs);
  }

  accept(message: QueuedMessage | null): void {
    if (message) this.start(message);
    else this.slots.release();
    this.reservations.shift()?.();
  }

  /** The claim loop; ends when the server closes. */
  async run(): Promise<void> {
    const { signal, wakeup } = this.deps;
    let backlog = true;
    while (!signal.aborted) {
      const seen = wakeup.current(this.name);
      if (!backlog) {
        await wakeup.wait(seen, this.deps.pollIntervalMs, signal, this.name);
        backlog = true;
        continue;
      }
      if (!(await this.slots.acquire(signal))) break;
      const wanted = 1 + this.slots.takeFree();
      let claimed: QueuedMessage[] = [];
      try {
        claimed = await this.deps.store.claim(this.name, wanted, this.definition.ackWaitMs, this.deps.clock.now());
      } catch (error) {
        this.deps.emitError(error);
      }
      for (let unused = claimed.length; unused < wanted; unused++) this.slots.release();
      for (const message of claimed) this.start(message);
      // Every slot filled: there may be more, so claim again as soon as one frees.
      backlog = claimed.length === wanted;
      if (!backlog && wakeup.current(this.name) !== seen) backlog = true;
    }
  }

  private start(message: QueuedMessage): void {
    void this.deps.inFlight.track(this.process(message).finally(() => this.slots.release()));
  }

  private async process(message: QueuedMessage): Promise<void> {
    const delivery: Delivery = {
      consumer: this.name,
      subject: message.subject,
      deliveryCount: message.deliveries,
      correlationId: message.headers[HEADERS.correlationId] || null,
      subjectType: eventTypeOfSubject(message.subject, this.deps.topology),
      decode: () => parseLifecycleEvent(message.payload),
    };
    const { store, clock, logger } = this.deps;
    const started = performance.now();
    try {
      const result = await this.dispatch.dispatch(delivery);
      const { settlement } = result;
      this.deps.observer?.settled(delivery.consumer, settlement.action, performance.now() - started);
      switch (settlement.action) {
        case 'ack':
          await this.deps.acks.ack(message.id);
          logger.debug?.(describeSettlement(delivery, result));
          return;
        case 'retry':
          await store.nak(message.id, settlement.delayMs, clock.now());
          logger.warn(describeSettlement(delivery, result));
          return;
        case 'dead-letter':
          await store.deadLetter(message.id, settlement.reason);
          logger.error(describeSettlement(delivery, result));
          return;
      }
    } catch (error) {
      // The lease runs out and the message is claimed again.
      this.deps.emitError(error);
    }
  }
}

/**
 * Acknowledgements in as few statements as the load allows: the acks of one turn of the event loop,
 * and those arriving while a statement runs, go together in the next one. An ack resolves once its
 * row is deleted; until then a crash only means a redelivery (handlers are idempotent).
 */
export class AckBatcher {
  private pending: Array<{ readonly id: string; readonly done: (error: Error | null) => void }> = [];
  private busy = false;

  constructor(private readonly store: DurableQueueStore) {}

  ack(id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ id, done: (error) => (error ? reject(error) : resolve()) });
      if (this.pending.length === 1 && !this.busy) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        try {
          await this.store.ackMany(batch.map((entry) => entry.id));
          for (const entry of batch) entry.done(null);
        } catch (error) {
          const failure = error instanceof Error ? error : new Error('ack failed', { cause: error });
          for (const entry of batch) entry.done(failure);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
