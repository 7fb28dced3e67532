import type { DurableQueueStore, QueueBacklog, QueuedMessage } from '@ciba/domain';

interface Row {
  id: string;
  consumer: string;
  subject: string;
  messageId: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  deliveries: number;
  visibleAt: number;
}

/** The DurableQueueStore contract in memory (the Postgres adapter lives in the persistence lib). */
export class InMemoryQueueStore implements DurableQueueStore {
  readonly rows = new Map<string, Row>();
  readonly acked: Row[] = [];
  readonly deadLetters: Array<Row & { reason: string }> = [];
  /** Store calls by method name: the statements the Postgres adapter would run. */
  readonly calls: Record<string, number> = {};
  private nextId = 1;

  enqueue(
    consumers: readonly string[],
    subject: string,
    messageId: string,
    payload: Record<string, unknown>,
    headers: Record<string, string>,
    leasedUntil: ReadonlyMap<string, Date> = new Map(),
  ): Promise<QueuedMessage[]> {
    this.count('enqueue');
    const leased: QueuedMessage[] = [];
    for (const consumer of consumers) {
      const known = [...this.rows.values(), ...this.acked, ...this.deadLetters].some(
        (row) => row.consumer === consumer && row.messageId === messageId,
      );
      if (known) continue;
      const id = String(this.nextId++);
      const until = leasedUntil.get(consumer);
      const row = { id, consumer, subject, messageId, payload: structuredClone(payload), headers: { ...headers }, deliveries: until ? 1 : 0, visibleAt: until?.getTime() ?? 0 };
      this.rows.set(id, row);
      if (until) leased.push({ ...row });
    }
    return Promise.resolve(leased);
  }

  claim(consumer: string, limit: number, leaseMs: number, now: Date): Promise<QueuedMessage[]> {
    this.count('claim');
    const visible = [...this.rows.values()].filter((row) => row.consumer === consumer && row.visibleAt <= now.getTime()).slice(0, limit);
    for (const row of visible) {
      row.deliveries++;
      row.visibleAt = now.getTime() + leaseMs;
    }
    return Promise.resolve(visible.map((row) => ({ ...row })));
  }

  ack(id: string): Promise<void> {
    this.count('ack');
    this.acked.push(this.take(id));
    return Promise.resolve();
  }

  ackMany(ids: readonly string[]): Promise<void> {
    this.count('ackMany');
    for (const id of ids) if (this.rows.has(id)) this.acked.push(this.take(id));
    return Promise.resolve();
  }

  backlog(now: Date): Promise<QueueBacklog[]> {
    const byConsumer = new Map<string, { waiting: number; inFlight: number }>();
    for (const row of this.rows.values()) {
      const entry = byConsumer.get(row.consumer) ?? { waiting: 0, inFlight: 0 };
      if (row.visibleAt <= now.getTime()) entry.waiting++;
      else entry.inFlight++;
      byConsumer.set(row.consumer, entry);
    }
    return Promise.resolve([...byConsumer].map(([consumer, entry]) => ({ consumer, ...entry })));
  }

  nak(id: string, delayMs: number, now: Date): Promise<void> {
    this.count('nak');
    const row = this.rows.get(id);
    if (row) row.visibleAt = now.getTime() + delayMs;
    return Promise.resolve();
  }

  deadLetter(id: string, reason: string): Promise<void> {
    this.count('deadLetter');
    this.deadLetters.push({ ...this.take(id), reason });
    return Promise.resolve();
  }

  private count(method: string): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
  }

  private take(id: string): Row {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no row ${id}`);
    this.rows.delete(id);
    return row;
  }
}
