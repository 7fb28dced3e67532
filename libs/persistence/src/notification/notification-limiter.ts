import {
  type AuthRequest,
  type NotificationLimiter,
  type PromptLimits,
  type PromptVerdict,
  USER_DENIAL_REASONS,
  denialBackoffUntil,
  fixedWindowStart,
} from '@ciba/domain';
import type { DataSource, EntityManager } from 'typeorm';
import { queryRows } from '../sql.js';

const ALLOWED: PromptVerdict = { allowed: true };

/**
 * The prompt limits, every one scoped to the asking client, in one transaction:
 * 1. a transaction-scoped advisory lock per (client, user) serialises notifiers for the same pair,
 *    so the count and the insert below cannot interleave (pairs never wait on each other);
 * 2. one statement reads whether the request was already counted, the pair's notifications in the
 *    sliding window and the user's own recent denials of this client (the back-off);
 * 3. the per-client fixed-window counter is bumped with a conditional upsert (its row lock is held
 *    to commit, so concurrent requests of one client never overshoot), and the notification is
 *    recorded only when the bump happened.
 * Locks are always taken in this order (pair, then client), so transactions cannot deadlock.
 */
export class PostgresNotificationLimiter implements NotificationLimiter {
  constructor(private readonly dataSource: DataSource) {}

  async acquire(request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, now: Date, limits: PromptLimits): Promise<PromptVerdict> {
    const { clientUser, client, denialBackoff } = limits;
    if (clientUser.limit === 0 && client.limit === 0 && denialBackoff.threshold === 0) return ALLOWED;
    return this.dataSource.transaction(async (manager) => {
      if (clientUser.limit > 0) {
        await queryRows(manager, `SELECT pg_advisory_xact_lock(hashtextextended('prompt_limit:' || $1 || ':' || $2, 0))`, [request.clientId, request.subject]);
      }
      const state = await this.read(manager, request, now, limits);
      if (state.counted) return ALLOWED;
      const backoffUntil = denialBackoffUntil(state.recentDenials, state.lastDeniedAt, denialBackoff);
      if (backoffUntil !== null && now.getTime() < backoffUntil.getTime()) return { allowed: false, limit: 'denial_backoff' };
      if (clientUser.limit > 0 && state.pairNotifications >= clientUser.limit) return { allowed: false, limit: 'client_user' };
      return (await this.record(manager, request, now, limits)) ? ALLOWED : { allowed: false, limit: 'client' };
    });
  }

  private async read(manager: EntityManager, request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, now: Date, limits: PromptLimits) {
    const pairSince = new Date(now.getTime() - limits.clientUser.windowMs);
    const denialsSince = new Date(now.getTime() - limits.denialBackoff.windowMs);
    const [row] = await queryRows<{ counted: boolean; pair: string; denials: string; last_denied_at: Date | null }>(
      manager,
      `SELECT EXISTS (SELECT 1 FROM user_notifications WHERE request_id = $1) AS counted,
              (SELECT count(*) FROM user_notifications WHERE client_id = $2 AND subject = $3 AND sent_at > $4) AS pair,
              d.denials, d.last_denied_at
         FROM (SELECT count(*) AS denials, max(decided_at) AS last_denied_at
                 FROM auth_requests
                WHERE client_id = $2 AND subject = $3 AND decided_at > $5 AND denial_reason = ANY($6::text[])) d`,
      [request.id, request.clientId, request.subject, pairSince, denialsSince, [...USER_DENIAL_REASONS]],
    );
    return {
      counted: row?.counted === true,
      pairNotifications: Number(row?.pair ?? 0),
      recentDenials: limits.denialBackoff.threshold > 0 ? Number(row?.denials ?? 0) : 0,
      lastDeniedAt: row?.last_denied_at ?? null,
    };
  }

  /** Records the notification; with a per-client limit, only if the client's window still has room. False when it had none. */
  private async record(manager: EntityManager, request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, now: Date, limits: PromptLimits): Promise<boolean> {
    const params = [request.id, request.clientId, request.subject, now];
    if (limits.client.limit === 0) {
      await queryRows(manager, `INSERT INTO user_notifications (request_id, client_id, subject, sent_at) VALUES ($1, $2, $3, $4)`, params);
      return true;
    }
    // The client's past windows are dropped as it goes, so its counter stays one row.
    const rows = await queryRows(
      manager,
      `WITH purged AS (
         DELETE FROM client_prompt_windows WHERE client_id = $2 AND window_start < $5
       ), bumped AS (
         INSERT INTO client_prompt_windows (client_id, window_start, prompts) VALUES ($2, $5, 1)
         ON CONFLICT (client_id, window_start) DO UPDATE SET prompts = client_prompt_windows.prompts + 1
          WHERE client_prompt_windows.prompts < $6
         RETURNING 1
       )
       INSERT INTO user_notifications (request_id, client_id, subject, sent_at)
       SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM bumped)
       RETURNING request_id`,
      [...params, fixedWindowStart(now, limits.client.windowMs), limits.client.limit],
    );
    return rows.length > 0;
  }
}
