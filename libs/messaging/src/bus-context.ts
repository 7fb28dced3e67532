/**
 * The second argument of every `@EventPattern` handler on both buses. Nest 12 requires the `@Ctx()`
 * parameter to be typed `unknown` under strict TS; narrow it with `isBusContext`.
 */
export interface BusContext {
  /** Durable consumer that received the message, e.g. `notifier`. */
  readonly consumer: string;
  /** The bus subject, e.g. `ciba.lifecycle.auth_request.created`. */
  readonly subject: string;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly correlationId: string | null;
}

/** The second argument of a batch handler (`OnBusBatch`): the context of each event, in the same order. */
export interface BusBatchContext {
  readonly consumer: string;
  readonly deliveries: readonly BusContext[];
}

export function isBusContext(value: unknown): value is BusContext {
  if (value === null || typeof value !== 'object') return false;
  const context = value as Record<string, unknown>;
  return (
    typeof context['consumer'] === 'string' &&
    typeof context['subject'] === 'string' &&
    typeof context['deliveryCount'] === 'number' &&
    (typeof context['correlationId'] === 'string' || context['correlationId'] === null)
  );
}
