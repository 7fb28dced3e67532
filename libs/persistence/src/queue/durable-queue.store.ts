import type { DurableQueueStore, QueueBacklog, QueuedMessage } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { DeadLetterEntity } from './dead-letter.entity.js';
import { QueuedMessageEntity } from './queued-message.entity.js';
import { toDeadLetter, toQueuedMessage } from './queue.mapper.js';
import type { DeadLetter } from './queue.mapper.js';

/** The work table behind the in-process bus of the all-in-one start (JetStream elsewhere). */
export class PostgresDurableQueueStore implements DurableQueueStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One row per consumer, in one statement; a republished message id is ignored. The rows of the
   * consumers in `leasedUntil` are inserted claimed (the first delivery, hidden until then) and
   * returned: the caller hands them to its handlers without a claim round trip.
   */
  async enqueue(
    consumers: readonly string[],
    subject: string,
    messageId: string,
    payload: Record<string, unknown>,
    headers: Record<string, string>,
    leasedUntil: ReadonlyMap<string, Date> = new Map(),
  ): Promise<QueuedMessage[]> {
    if (consumers.length === 0) return [];
    const rows = await queryRows<{ id: string; consumer: string; deliveries: number }>(
      this.dataSource,
      `INSERT INTO queued_messages (consumer, subject, message_id, payload, headers, deliveries, visible_at)
       SELECT c.consumer, $2, $3, $4::jsonb, $5::jsonb,
              CASE WHEN c.leased_until IS NULL THEN 0 ELSE 1 END, coalesce(c.leased_until, now())
         FROM unnest($1::text[], $6::timestamptz[]) AS c(consumer, leased_until)
       ON CONFLICT (consumer, message_id) DO NOTHING
       RETURNING id, consumer, deliveries`,
      [[...consumers], subject, messageId, JSON.stringify(payload), JSON.stringify(headers), consumers.map((consumer) => leasedUntil.get(consumer) ?? null)],
    );
    return rows
      .filter((row) => row.deliveries === 1)
      .map((row) => ({ id: row.id, consumer: row.consumer, subject, messageId, payload, headers, deliveries: 1 }));
  }

  /**
   * SKIP LOCKED: concurrent claimers never receive the same message. In the order messages became
   * visible (a new message at once, a retry when its delay is over; a batch is handed over oldest
   * first): the order of the (consumer, visible_at) index, so a claim reads `limit` index entries
   * rather than sorting the whole backlog. A MATERIALIZED CTE rather than `WHERE id IN (subquery)`,
   * which the planner may re-run and so exceed the limit.
   */
  async claim(consumer: string, limit: number, leaseMs: number, now: Date): Promise<QueuedMessage[]> {
    const rows = await queryRows(
      this.dataSource,
      `WITH claimed AS MATERIALIZED (
         SELECT id FROM queued_messages
          WHERE consumer = $1 AND visible_at <= $2
          ORDER BY visible_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED
       )
       UPDATE queued_messages AS qm
          SET visible_at = $2::timestamptz + make_interval(secs => $4::double precision / 1000),
              deliveries = qm.deliveries + 1
         FROM claimed
        WHERE qm.id = claimed.id
       RETURNING qm.*`,
      [consumer, now, limit, leaseMs],
    );
    return rows
      .map((row) => hydrate(this.dataSource, QueuedMessageEntity, row))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map(toQueuedMessage);
  }

  async ack(id: string): Promise<void> {
    await queryRows(this.dataSource, `DELETE FROM queued_messages WHERE id = $1`, [id]);
  }

  async ackMany(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await queryRows(this.dataSource, `DELETE FROM queued_messages WHERE id = ANY($1::uuid[])`, [[...ids]]);
  }

  /** Rows not yet acknowledged per consumer: visible (waiting) or hidden (claimed, or a delayed retry). */
  async backlog(now: Date): Promise<QueueBacklog[]> {
    const rows = await queryRows<{ consumer: string; waiting: number; in_flight: number }>(
      this.dataSource,
      `SELECT consumer, count(*) FILTER (WHERE visible_at <= $1)::int AS waiting, count(*) FILTER (WHERE visible_at > $1)::int AS in_flight
         FROM queued_messages GROUP BY consumer ORDER BY consumer`,
      [now],
    );
    return rows.map((row) => ({ consumer: row.consumer, waiting: row.waiting, inFlight: row.in_flight }));
  }

  async nak(id: string, delayMs: number, now: Date): Promise<void> {
    await queryRows(this.dataSource,
      `UPDATE queued_messages SET visible_at = $2::timestamptz + make_interval(secs => $3::double precision / 1000) WHERE id = $1`,
      [id, now, delayMs],
    );
  }

  /** One statement, so atomic: the message is either still queued or in the dead letters. */
  async deadLetter(id: string, reason: string): Promise<void> {
    await queryRows(this.dataSource,
      `WITH moved AS (DELETE FROM queued_messages WHERE id = $1 RETURNING *)
       INSERT INTO dead_letters (id, consumer, subject, message_id, payload, headers, reason, deliveries)
       SELECT id, consumer, subject, message_id, payload, headers, $2, deliveries FROM moved`,
      [id, reason],
    );
  }

  /** Dead letters, newest first; optionally of one consumer (admin tool, tests). */
  async listDeadLetters(consumer?: string): Promise<DeadLetter[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM dead_letters WHERE $1::text IS NULL OR consumer = $1 ORDER BY created_at DESC, id`,
      [consumer ?? null],
    );
    return rows.map((row) => toDeadLetter(hydrate(this.dataSource, DeadLetterEntity, row)));
  }
}
