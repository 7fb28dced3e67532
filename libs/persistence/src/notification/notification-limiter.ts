import type { NotificationLimiter } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

/**
 * The per-user notification limit as a sliding window over `user_notifications`. A transaction-scoped
 * advisory lock per subject serialises concurrent notifiers for the same user, so the count and the
 * insert cannot interleave; users never wait on each other.
 */
export class PostgresNotificationLimiter implements NotificationLimiter {
  constructor(private readonly dataSource: DataSource) {}

  async acquire(subject: string, requestId: string, now: Date, limit: number, windowMs: number): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      await queryRows(manager, `SELECT pg_advisory_xact_lock(hashtextextended('user_notifications:' || $1, 0))`, [subject]);
      const counted = await queryRows(manager, `SELECT 1 FROM user_notifications WHERE request_id = $1`, [requestId]);
      if (counted.length > 0) return true;
      const since = new Date(now.getTime() - windowMs);
      const [row] = await queryRows<{ n: string }>(manager, `SELECT count(*) AS n FROM user_notifications WHERE subject = $1 AND sent_at > $2`, [subject, since]);
      if (Number(row?.n ?? 0) >= limit) return false;
      await queryRows(manager, `INSERT INTO user_notifications (request_id, subject, sent_at) VALUES ($1, $2, $3)`, [requestId, subject, now]);
      return true;
    });
  }
}
