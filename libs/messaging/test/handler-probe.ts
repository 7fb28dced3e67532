import { Controller, Module } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { AuthRequestCreated, LifecycleEvent } from '@ciba/domain';
import { OnBusEvent } from '../src/bus-event.decorator.js';
import { type BusContext, isBusContext } from '../src/bus-context.js';

export interface ProbeCall {
  readonly handler: string;
  readonly event: LifecycleEvent;
  readonly context: BusContext;
  readonly at: number;
}

/** The request an event is about (a device event: its device). */
function keyOf(event: LifecycleEvent): string {
  return 'requestId' in event ? event.requestId : event.deviceId;
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
      await this.behaviour.get(keyOf(event))?.(context.deliveryCount);
    },
    of(handler: string, requestId?: string): ProbeCall[] {
      return this.calls.filter((call) => call.handler === handler && (!requestId || keyOf(call.event) === requestId));
    },
  };
}

/** The probe every handler below records into (one per test file: Jest isolates modules per file). */
export const probe = createProbe();

@Controller()
class ProbeHandlers {
  @OnBusEvent('notifier', 'auth_request.created')
  async onCreated(@Payload() event: AuthRequestCreated, @Ctx() context: unknown): Promise<void> {
    await probe.record('notifier', event, context);
  }

  @OnBusEvent('audit', '*')
  async onAny(@Payload() event: LifecycleEvent, @Ctx() context: unknown): Promise<void> {
    await probe.record('audit', event, context);
  }
}

/** A Nest module whose handlers record into `probe`: the notifier's and the audit's patterns. */
@Module({ controllers: [ProbeHandlers] })
export class ProbeModule {}
