import type { MessageHandler } from '@nestjs/microservices';
import type { LifecycleEvent, LifecycleEventType } from '@ciba/domain';
import type { BusBatchContext, BusContext } from './bus-context.js';
import { batchPattern, handlerPatternsFor } from './catalogue.js';
import { decodeDelivery, handleDelivery, runHandler } from './handler-dispatch.js';
import type { Delivery, DeliveryResult } from './handler-dispatch.js';
import { settle } from './settlement.js';
import type { HandlerOutcome, RetryPolicy } from './settlement.js';

/**
 * How the deliveries of one consumer reach its handlers: one by one through `handleDelivery`, or,
 * when the consumer has a batch handler (`OnBusBatch`), gathered into batches. Shared by both bus
 * servers; built once the Nest handlers are registered.
 */
export class ConsumerDispatch {
  private readonly batches: DeliveryBatcher | null;
  private readonly handled = new Map<string, boolean>();

  constructor(
    private readonly consumer: string,
    private readonly handlerFor: (pattern: string) => MessageHandler | null,
    private readonly policy: RetryPolicy,
    maxBatch: number,
    lingerMs = 0,
  ) {
    const batchHandler = handlerFor(batchPattern(consumer));
    this.batches = batchHandler ? new DeliveryBatcher(consumer, batchHandler, policy, maxBatch, lingerMs) : null;
  }

  /**
   * Whether a message of `type` (the event type its subject names) reaches a handler of this
   * process. One that does not is a success as it is: it needs neither decoding nor, on the
   * in-process bus, a row.
   */
  handles(type: string | null): boolean {
    if (this.batches || type === null) return true;
    let found = this.handled.get(type);
    if (found === undefined) {
      found = handlerPatternsFor(this.consumer, type as LifecycleEventType).some((pattern) => this.handlerFor(pattern) !== null);
      this.handled.set(type, found);
    }
    return found;
  }

  dispatch(delivery: Delivery): Promise<DeliveryResult> {
    if (!this.handles(delivery.subjectType)) return Promise.resolve({ event: null, settlement: { action: 'ack' } });
    return this.batches ? this.batches.add(delivery) : handleDelivery(delivery, this.handlerFor, this.policy);
  }
}

interface Gathered {
  readonly event: LifecycleEvent;
  readonly context: BusContext;
  readonly resolve: (result: DeliveryResult) => void;
}

/**
 * Gathers the deliveries of a batch consumer and hands them to its batch handler: a batch goes as
 * soon as it is full, or once no more deliveries are at hand (the next turn of the event loop, or
 * `lingerMs` after its first delivery) and no earlier batch is still being handled; deliveries
 * arriving meanwhile form the next batch (a group commit). Each delivery's result is known only
 * once its whole batch is: nothing is acknowledged before the batch handler has finished.
 */
export class DeliveryBatcher {
  private gathering: Gathered[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly consumer: string,
    private readonly handler: MessageHandler,
    private readonly policy: RetryPolicy,
    private readonly maxBatch: number,
    private readonly lingerMs = 0,
    private readonly random: () => number = Math.random,
  ) {}

  add(delivery: Delivery): Promise<DeliveryResult> {
    const decoded = decodeDelivery(delivery);
    if (decoded.malformed !== undefined) {
      const settlement = settle({ kind: 'malformed', message: decoded.malformed }, delivery.deliveryCount, this.policy, this.random);
      return Promise.resolve({ event: null, settlement });
    }
    const { event, context } = decoded;
    return new Promise<DeliveryResult>((resolve) => {
      const gathered = { event, context, resolve };
      // A redelivery goes alone: a message that failed once must not keep failing the batches of others.
      if (context.deliveryCount > 1) {
        void this.run([gathered]);
        return;
      }
      this.gathering.push(gathered);
      if (this.gathering.length >= this.maxBatch) this.flush();
      else this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      // While a batch runs, the next one keeps gathering; it goes when that batch is done.
      if (this.running === 0) this.flush();
    };
    if (this.lingerMs > 0) setTimeout(go, this.lingerMs);
    else setImmediate(go);
  }

  private flush(): void {
    const batch = this.gathering.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.running++;
    void this.run(batch).finally(() => {
      this.running--;
      if (this.running === 0 && this.gathering.length > 0) this.flush();
    });
  }

  private async run(batch: readonly Gathered[]): Promise<void> {
    const context: BusBatchContext = { consumer: this.consumer, deliveries: batch.map((gathered) => gathered.context) };
    const outcome = await runHandler(this.handler, batch.map((gathered) => gathered.event), context);
    // A failure of several messages at once does not say which one failed: each is retried, alone.
    const each: HandlerOutcome = outcome.kind === 'permanent' && batch.length > 1 ? { kind: 'failed', message: outcome.message } : outcome;
    for (const gathered of batch) {
      gathered.resolve({ event: gathered.event, settlement: settle(each, gathered.context.deliveryCount, this.policy, this.random) });
    }
  }
}
