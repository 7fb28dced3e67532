import type { QueuedMessage } from '@ciba/domain';

/** A consumer this process runs, as the publisher of the same process sees it. */
export interface LocalConsumer {
  readonly name: string;
  /**
   * Whether a message of `type` reaches a handler here. One that does not would be acknowledged
   * unread, so it is not stored for this consumer at all (every process running a consumer runs the
   * same handlers: the all-in-one and its replicas).
   */
  handles(type: string): boolean;
  /**
   * Takes a free slot now, if there is one: the message is then stored claimed by this process until
   * the returned time, and must be passed to `accept`. Null when every slot is busy (or the server
   * is closing): the message is stored visible, for the next claim.
   */
  reserve(): Date | null;
  /** Starts handling a message stored claimed for it; null gives the reserved slot back (a repeat, or the store failed). */
  accept(message: QueuedMessage | null): void;
}

/**
 * Links the publisher and the server of one process. It wakes the server's claim loops when a
 * message was stored visible, so that delivery does not wait for the next poll (versioned: a
 * notification that lands while a consumer is claiming is not lost), and lets the publisher hand a
 * message straight to a consumer with a free slot.
 */
export class InProcessWakeup {
  private version = 0;
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Map<() => void, string | undefined>();
  private readonly locals = new Map<string, LocalConsumer>();

  /** The notification count `consumer` has seen (every consumer's when none is named). */
  current(consumer?: string): number {
    return this.version + (consumer === undefined ? 0 : (this.versions.get(consumer) ?? 0));
  }

  /** Wakes the claim loops of `consumers`, or of every consumer. */
  notify(consumers?: readonly string[]): void {
    if (consumers === undefined) this.version++;
    else for (const name of consumers) this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
    for (const [wake, consumer] of [...this.waiters]) {
      if (consumers === undefined || consumer === undefined || consumers.includes(consumer)) wake();
    }
  }

  /** Resolves on a notification for `consumer` after `seen`, after `timeoutMs`, or on abort, whichever is first. */
  wait(seen: number, timeoutMs: number, signal?: AbortSignal, consumer?: string): Promise<void> {
    if (this.current(consumer) !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.set(done, consumer);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Called by the server on listen; the returned function unregisters. */
  register(consumer: LocalConsumer): () => void {
    this.locals.set(consumer.name, consumer);
    return () => {
      if (this.locals.get(consumer.name) === consumer) this.locals.delete(consumer.name);
    };
  }

  local(name: string): LocalConsumer | undefined {
    return this.locals.get(name);
  }
}
