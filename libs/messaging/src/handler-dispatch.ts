import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import type { LifecycleEvent } from '@ciba/domain';
import type { BusContext } from './bus-context.js';
import { type BusTopology, handlerPatternsFor } from './catalogue.js';
import { MalformedMessage } from './errors.js';
import { outcomeOfError, settle } from './settlement.js';
import type { HandlerOutcome, RetryPolicy, Settlement } from './settlement.js';

/**
 * Runs the Nest handler for one delivery and reports how it went. A message without a handler is a
 * success: consumer filters decide what arrives, so there is nothing left to do with it.
 */
export async function runHandler(handler: MessageHandler | null, data: unknown, context: unknown): Promise<HandlerOutcome> {
  if (!handler) return { kind: 'success' };
  try {
    const result: unknown = await handler(data, context);
    // Nest wraps failures (and several handlers on one pattern) in an Observable.
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    return { kind: 'success' };
  } catch (error) {
    return outcomeOfError(error);
  }
}

/** Tracks in-flight work so that `close()` can wait for it. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  get size(): number {
    return this.running.size;
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.running.add(work);
    void work.finally(() => this.running.delete(work)).catch(() => undefined);
    return work;
  }

  /** Counts work that has not started yet (a slot reserved for a hand-off) until the returned function is called. */
  hold(): () => void {
    let done!: () => void;
    void this.track(new Promise<void>((resolve) => (done = resolve)));
    return done;
  }

  async drained(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

export interface Delivery {
  readonly consumer: string;
  readonly subject: string;
  readonly deliveryCount: number;
  /** From the `x-correlation-id` header; the event's own `correlationId` is the fallback. */
  readonly correlationId: string | null;
  /** The event type the subject implies, or null when the subject says nothing about it. */
  readonly subjectType: string | null;
  /** Decodes and validates the body; throws `MalformedMessage`. */
  decode(): LifecycleEvent;
}

export interface DeliveryResult {
  readonly event: LifecycleEvent | null;
  readonly settlement: Settlement;
}

export type DecodedDelivery =
  | { readonly event: LifecycleEvent; readonly context: BusContext; readonly malformed?: undefined }
  | { readonly event?: undefined; readonly malformed: string };

/** The event and its `BusContext`, or why the message cannot be handled (a malformed message). */
export function decodeDelivery(delivery: Delivery): DecodedDelivery {
  let event: LifecycleEvent;
  try {
    event = delivery.decode();
    if (delivery.subjectType !== null && delivery.subjectType !== event.type) {
      throw new MalformedMessage(`event type ${event.type} published on subject ${delivery.subject}`);
    }
  } catch (error) {
    return { malformed: error instanceof MalformedMessage ? error.message : 'undecodable message' };
  }
  const context: BusContext = {
    consumer: delivery.consumer,
    subject: delivery.subject,
    deliveryCount: delivery.deliveryCount,
    correlationId: delivery.correlationId ?? event.correlationId,
  };
  return { event, context };
}

/**
 * Decode → dispatch to the handler (`handlerPattern(consumer, type)`, `handlerPattern(consumer, '*')`
 * or the bare `@EventPattern(type)`) → settle. Shared by both bus servers.
 */
export async function handleDelivery(
  delivery: Delivery,
  handlerFor: (pattern: string) => MessageHandler | null,
  policy: RetryPolicy,
  random: () => number = Math.random,
): Promise<DeliveryResult> {
  const decoded = decodeDelivery(delivery);
  if (decoded.malformed !== undefined) {
    return { event: null, settlement: settle({ kind: 'malformed', message: decoded.malformed }, delivery.deliveryCount, policy, random) };
  }
  const { event, context } = decoded;
  const handler = handlerPatternsFor(delivery.consumer, event.type).reduce<MessageHandler | null>(
    (found, pattern) => found ?? handlerFor(pattern),
    null,
  );
  const outcome = await runHandler(handler, event, context);
  return { event, settlement: settle(outcome, delivery.deliveryCount, policy, random) };
}

/** One line for the log: ids only, never payload fields. */
export function describeSettlement(delivery: Delivery, result: DeliveryResult): string {
  const what = result.event ? `${result.event.type} ${result.event.eventId}` : delivery.subject;
  const base = `${delivery.consumer}: ${what} (delivery ${delivery.deliveryCount})`;
  switch (result.settlement.action) {
    case 'ack':
      return `${base} handled`;
    case 'retry':
      return `${base} failed, retry in ${result.settlement.delayMs} ms`;
    case 'dead-letter':
      return `${base} dead-lettered: ${result.settlement.reason}`;
  }
}

/**
 * A counting semaphore bounding concurrent handlers per consumer: a slot per message, taken when the
 * message starts and given back when it is settled, so that one slow message never holds up others.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  /** Takes a slot if one is free now. */
  tryAcquire(): boolean {
    if (this.free === 0) return false;
    this.free--;
    return true;
  }

  /** Takes every slot free now (none may be); give each back with `release`. */
  takeFree(): number {
    const taken = this.free;
    this.free = 0;
    return taken;
  }

  /** Waits for a slot; false when `signal` aborts first (no slot taken then). Waiters are served first come, first served. */
  async acquire(signal?: AbortSignal): Promise<boolean> {
    if (this.tryAcquire()) return true;
    if (signal?.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const granted = () => {
        signal?.removeEventListener('abort', aborted);
        resolve(true);
      };
      const aborted = () => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(false);
      };
      this.waiting.push(granted);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/** What both bus servers (JetStream and in-process) take. */
export interface BusServerOptions {
  /** Durable consumers (catalogue names, e.g. `['notifier']`) this process runs. */
  readonly consumers: readonly string[];
  readonly topology?: BusTopology;
  readonly logger?: LoggerService;
  /**
   * Messages handled at once per consumer, each in a slot of its own: a new one starts as soon as any
   * slot frees. A batch consumer's batches hold at most this many. Default 8.
   */
  readonly maxInFlight?: number;
  /** Overrides of the retry curve shape (e.g. `jitterRatio`); the numbers come from the catalogue. */
  readonly retry?: Partial<Omit<RetryPolicy, 'maxDeliver'>>;
  /** Told of every message a handler of this process settled (metrics). */
  readonly observer?: BusObserver;
}

/** Sees each handled message once it is settled: its consumer, how it settled and how long handling took. */
export interface BusObserver {
  settled(consumer: string, action: Settlement['action'], durationMs: number): void;
}
