import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { PermanentError, handlerPattern, isBusContext, parseLifecycleEvent } from '@ciba/messaging';
import { UserNotifier } from './user-notifier.service.js';

/** Bus entry point of the notifier: the durable `notifier` consumer of auth_request.created. */
@Controller()
export class NotificationHandler {
  constructor(private readonly notifier: UserNotifier) {}

  @EventPattern(handlerPattern('notifier', 'auth_request.created'))
  async onCreated(@Payload() data: unknown, @Ctx() context: unknown): Promise<void> {
    const event = parseLifecycleEvent(data);
    if (event.type !== 'auth_request.created') throw new PermanentError(`unexpected ${event.type} on the notifier consumer`);
    await this.notifier.notify(event.requestId, isBusContext(context) ? context.deliveryCount : 1);
  }
}
