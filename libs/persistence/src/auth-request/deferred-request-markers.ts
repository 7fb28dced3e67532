import type { DeferredRequestMarkers } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

export interface DeferredMarkerOptions {
  /** How long the first queued marker waits for others to share its statement. */
  readonly delayMs: number;
  /** Queued markers that start a statement at once, without waiting out the delay. */
  readonly maxBatch: number;
  /** A statement failed: its markers are dropped (see `DeferredRequestMarkers`). */
  readonly onError: (err: unknown, markers: number) => void;
}

/**
 * `DeferredRequestMarkers` on PostgreSQL: markers queue in memory and are written together, at most
 * `delayMs` after the first, by one UPDATE over arrays. The callers never wait for it. Each marker
 * keeps the first time it was set, as `AuthRequestRepository.markNotified` / `markOutcomePublished`.
 * Rows are written in id order, as the sweeper's `markOutcomePublished` does, so two batches over
 * the same requests lock them in the same order.
 */
export class PostgresDeferredRequestMarkers implements DeferredRequestMarkers {
  private notifiedAt = new Map<string, Date>();
  private publishedAt = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: DeferredMarkerOptions,
  ) {}

  notified(id: string, at: Date): void {
    if (!this.notifiedAt.has(id)) this.notifiedAt.set(id, at);
    this.schedule();
  }

  outcomePublished(id: string, at: Date): void {
    if (!this.publishedAt.has(id)) this.publishedAt.set(id, at);
    this.schedule();
  }

  /** Writes every queued marker now; resolves once the statement has run (failures go to `onError`). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const [notified, published] = [this.notifiedAt, this.publishedAt];
    if (notified.size + published.size === 0) return this.writing;
    this.notifiedAt = new Map();
    this.publishedAt = new Map();
    this.writing = this.writing.then(() => this.write(notified, published));
    return this.writing;
  }

  /** Writes what is queued; markers set afterwards are written at once (the service is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(): void {
    if (this.closed || this.notifiedAt.size + this.publishedAt.size >= this.options.maxBatch) {
      void this.flush();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.options.delayMs);
    // Shutdown flushes explicitly: the timer alone must not keep a stopping process alive.
    this.timer.unref();
  }

  private async write(notified: Map<string, Date>, published: Map<string, Date>): Promise<void> {
    const ids = [...new Set([...notified.keys(), ...published.keys()])].sort();
    try {
      await queryRows(
        this.dataSource,
        `UPDATE auth_requests a
            SET notified_at = COALESCE(a.notified_at, m.notified_at),
                outcome_published_at = COALESCE(a.outcome_published_at, m.published_at)
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS m(id, notified_at, published_at)
          WHERE a.id = m.id
            AND ((a.notified_at IS NULL AND m.notified_at IS NOT NULL) OR (a.outcome_published_at IS NULL AND m.published_at IS NOT NULL))`,
        [ids, ids.map((id) => notified.get(id) ?? null), ids.map((id) => published.get(id) ?? null)],
      );
    } catch (err) {
      this.options.onError(err, ids.length);
    }
  }
}
