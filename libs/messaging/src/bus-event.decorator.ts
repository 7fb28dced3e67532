import { EventPattern } from '@nestjs/microservices';
import type { LifecycleEvent, LifecycleEventType } from '@ciba/domain';
import { batchPattern, handlerPattern } from './catalogue.js';

/** The event a handler for `type` receives; every lifecycle event for `'*'`. */
export type LifecycleEventOf<T extends LifecycleEventType | '*'> = T extends LifecycleEventType
  ? Extract<LifecycleEvent, { type: T }>
  : LifecycleEvent;

type BusHandlerDecorator<T extends LifecycleEventType | '*'> = <
  M extends (event: LifecycleEventOf<T>, ...rest: never[]) => unknown,
>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * `@EventPattern(handlerPattern(consumer, type))` with the payload typed from the event type. Nest 12's
 * own typing infers `{}` for the payload of a string pattern (TS1241 under strict); this keeps the
 * handler's first parameter checked instead. The second argument is the `BusContext` (type it `unknown`
 * and narrow with `isBusContext` when using `@Ctx()`).
 */
export function OnBusEvent<T extends LifecycleEventType | '*'>(consumer: string, type: T): BusHandlerDecorator<T> {
  const decorate = (EventPattern as (pattern: string) => MethodDecorator)(handlerPattern(consumer, type));
  return (target, propertyKey, descriptor) => {
    decorate(target, propertyKey, descriptor);
  };
}

type BusBatchHandlerDecorator = <M extends (events: readonly LifecycleEvent[], ...rest: never[]) => unknown>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * A consumer's batch handler: it receives the consumer's messages several at a time, as many as are
 * at hand (at most the consumer's in-flight limit), with a `BusBatchContext`. Resolving acknowledges
 * every message of the batch; throwing retries every one of them, each alone from then on. For a
 * consumer whose work gains from batching (the audit trail's inserts); the others keep `OnBusEvent`.
 */
export function OnBusBatch(consumer: string): BusBatchHandlerDecorator {
  const decorate = (EventPattern as (pattern: string) => MethodDecorator)(batchPattern(consumer));
  return (target, propertyKey, descriptor) => {
    decorate(target, propertyKey, descriptor);
  };
}
