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
export async function runHandler(
  handler: MessageHandler | null,
  event: LifecycleEvent,
  context: BusContext,
): Promise<HandlerOutcome> {
  if (!handler) return { kind: 'success' };
  try {
    const result: unknown = await handler(event, context);
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
  let event: LifecycleEvent;
  try {
    event = delivery.decode();
    if (delivery.subjectType !== null && delivery.subjectType !== event.type) {
      throw new MalformedMessage(`event type ${event.type} published on subject ${delivery.subject}`);
    }
  } catch (error) {
    const message = error instanceof MalformedMessage ? error.message : 'undecodable message';
    return { event: null, settlement: settle({ kind: 'malformed', message }, delivery.deliveryCount, policy, random) };
  }
  const context: BusContext = {
    consumer: delivery.consumer,
    subject: delivery.subject,
    deliveryCount: delivery.deliveryCount,
    correlationId: delivery.correlationId ?? event.correlationId,
  };
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

/** A counting semaphore bounding concurrent handlers per consumer. */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = Math.max(1, Math.floor(size));
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
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
  /** Handlers running at once per consumer (and messages fetched per round). Default 8. */
  readonly maxInFlight?: number;
  /** Overrides of the retry curve shape (e.g. `jitterRatio`); the numbers come from the catalogue. */
  readonly retry?: Partial<Omit<RetryPolicy, 'maxDeliver'>>;
}
