import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { type CallbackTrigger, isDeviceEvent } from '@ciba/domain';
import { PermanentError, handlerPattern, isBusContext, parseLifecycleEvent } from '@ciba/messaging';
import { CallbackDispatcher } from './callback-dispatcher.service.js';

const TRIGGERS = {
  'auth_request.approved': 'approved',
  'auth_request.denied': 'denied',
  'auth_request.expired': 'expired',
} as const satisfies Record<string, CallbackTrigger>;

/** Bus entry point: the durable `callback-dispatcher` consumer's decision and expiry events. */
@Controller()
export class CallbackHandler {
  constructor(private readonly dispatcher: CallbackDispatcher) {}

  @EventPattern(handlerPattern('callback-dispatcher', 'auth_request.approved'))
  onApproved(@Payload() data: unknown, @Ctx() context: unknown): Promise<void> {
    return this.handle(data, context);
  }

  @EventPattern(handlerPattern('callback-dispatcher', 'auth_request.denied'))
  onDenied(@Payload() data: unknown, @Ctx() context: unknown): Promise<void> {
    return this.handle(data, context);
  }

  @EventPattern(handlerPattern('callback-dispatcher', 'auth_request.expired'))
  onExpired(@Payload() data: unknown, @Ctx() context: unknown): Promise<void> {
    return this.handle(data, context);
  }

  private async handle(data: unknown, context: unknown): Promise<void> {
    const event = parseLifecycleEvent(data);
    if (isDeviceEvent(event) || !(event.type in TRIGGERS)) throw new PermanentError(`unexpected ${event.type} on the callback-dispatcher consumer`);
    const trigger = TRIGGERS[event.type as keyof typeof TRIGGERS];
    await this.dispatcher.dispatch(event.requestId, event.clientId, trigger, isBusContext(context) ? context.deliveryCount : 1);
  }
}
