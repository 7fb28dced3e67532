import type { LifecycleEvent } from '@ciba/domain';
import { type BusContext, isBusContext } from '../src/bus-context.js';

export interface ProbeCall {
  readonly handler: string;
  readonly event: LifecycleEvent;
  readonly context: BusContext;
  readonly at: number;
}

/** Records what bus handlers received, and lets a test script a handler's behaviour per request. */
export function createProbe() {
  return {
    calls: [] as ProbeCall[],
    /** Per requestId: what the handler does on delivery n. */
    behaviour: new Map<string, (deliveryCount: number) => void | Promise<void>>(),
    async record(handler: string, event: LifecycleEvent, context: unknown): Promise<void> {
      if (!isBusContext(context)) throw new Error('not a BusContext');
      this.calls.push({ handler, event, context, at: Date.now() });
      await this.behaviour.get(event.requestId)?.(context.deliveryCount);
    },
    of(handler: string, requestId?: string): ProbeCall[] {
      return this.calls.filter((call) => call.handler === handler && (!requestId || call.event.requestId === requestId));
    },
  };
}
