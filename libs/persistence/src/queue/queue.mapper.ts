import type { QueuedMessage } from '@ciba/domain';
import type { DeadLetterEntity } from './dead-letter.entity.js';
import type { QueuedMessageEntity } from './queued-message.entity.js';

export interface DeadLetter {
  readonly id: string;
  readonly consumer: string;
  readonly subject: string;
  readonly messageId: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly reason: string;
  readonly deliveries: number;
  /** When it was dead-lettered. */
  readonly createdAt: Date;
}

export function toQueuedMessage(entity: QueuedMessageEntity): QueuedMessage {
  return {
    id: entity.id,
    consumer: entity.consumer,
    subject: entity.subject,
    messageId: entity.messageId,
    payload: entity.payload,
    headers: entity.headers,
    deliveries: entity.deliveries,
  };
}

export function toDeadLetter(entity: DeadLetterEntity): DeadLetter {
  return {
    id: entity.id,
    consumer: entity.consumer,
    subject: entity.subject,
    messageId: entity.messageId,
    payload: entity.payload,
    headers: entity.headers,
    reason: entity.reason,
    deliveries: entity.deliveries,
    createdAt: entity.createdAt,
  };
}
