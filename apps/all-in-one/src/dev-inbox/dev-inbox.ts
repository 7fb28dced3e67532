import { randomBytes } from 'node:crypto';
import type { ChannelKind } from '@ciba/channels';
import { type Clock, systemClock } from '@ciba/domain';

/** One captured message, as the real template rendered it. */
/** What a message is for: a sign-in request to approve, or a device enrolment link. */
export type InboxMessageAbout = 'approval' | 'enrolment' | 'device-added';

export interface InboxMessage {
  readonly id: string;
  readonly channel: ChannelKind;
  readonly about: InboxMessageAbout;
  /** The email address, phone number or device the message was meant for. */
  readonly to: string;
  readonly receivedAt: Date;
  /** Email subject; device-push title; null for SMS. */
  readonly subject: string | null;
  /** Email text part; SMS body; device-push body. */
  readonly text: string;
  /** Email HTML part; null for the other kinds. */
  readonly html: string | null;
  /** The links the message carries (the approval or enrolment link), to open from the inbox. */
  readonly links: readonly string[];
}

export type NewInboxMessage = Omit<InboxMessage, 'id' | 'receivedAt'>;

export const DEV_INBOX_CAPACITY = 100;

/**
 * Development only: the messages the all-in-one start would have sent by email, SMS or device push,
 * kept in memory (newest first, the oldest dropped beyond the capacity) so a newcomer can read them
 * and follow their links without any vendor account.
 */
export class DevInbox {
  private readonly messages: InboxMessage[] = [];

  constructor(
    readonly clock: Clock = systemClock,
    private readonly capacity = DEV_INBOX_CAPACITY,
  ) {}

  add(message: NewInboxMessage): InboxMessage {
    const stored: InboxMessage = { ...message, id: randomBytes(9).toString('base64url'), receivedAt: this.clock.now() };
    this.messages.unshift(stored);
    if (this.messages.length > this.capacity) this.messages.length = this.capacity;
    return stored;
  }

  /** Newest first. */
  list(): readonly InboxMessage[] {
    return [...this.messages];
  }

  get(id: string): InboxMessage | null {
    return this.messages.find((m) => m.id === id) ?? null;
  }
}
