import { type AuthRequest, type ClaimToken, type PromptClaim, type PromptClaims, type PromptLimits, fixedWindowStart } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';
import { toAuthRequest } from '../auth-request/auth-request.mapper.js';
import { hydrate, queryRows } from '../sql.js';
import { USER_COLUMNS, userFromColumns } from '../user/user.mapper.js';
import { limitsOff, runPromptStatement, verdictOf } from './notification-limiter.js';
import { Parameters, type PromptOutcome, promptLimitCtes } from './prompt-limit-ctes.js';

/**
 * The start of a notification in one round trip: the request (only while it awaits its
 * notification) with its user, the prompt limits checked and counted, and the decision tokens
 * stored when the prompt is allowed. No transaction spans round trips: the statement is atomic, and
 * its row locks serialise concurrent claims (see `promptLimitCtes`).
 */
export class PostgresPromptClaims implements PromptClaims {
  constructor(private readonly dataSource: DataSource) {}

  async claim(requestId: string, now: Date, limits: PromptLimits, tokens: readonly ClaimToken[]): Promise<PromptClaim> {
    const row = await runPromptStatement(this.dataSource, () => {
      const p = new Parameters();
      const at = p.add(now, 'timestamptz');
      const request = `request AS MATERIALIZED (
        SELECT * FROM auth_requests WHERE id = ${p.add(requestId, 'uuid')} AND status = 'pending' AND notified_at IS NULL AND expires_at > ${at}
      )`;
      const prompt = limitsOff(limits) ? [`outcome AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM request) THEN 'allowed' ELSE 'unclaimable' END AS outcome)`] : promptLimitCtes(p, now, limits);
      const stored = `stored AS (
        INSERT INTO decision_tokens (token_hash, request_id, channel, expires_at)
        SELECT t.token_hash, r.id, t.channel, r.expires_at
          FROM request r JOIN outcome o ON o.outcome IN ('counted', 'counted_now', 'allowed'),
               unnest(${p.add(tokens.map((t) => t.tokenHash), 'text[]')}, ${p.add(tokens.map((t) => t.channel), 'text[]')}) AS t(token_hash, channel)
        ON CONFLICT (token_hash) DO NOTHING
      )`;
      const sql = `WITH ${[request, ...prompt, stored].join(',\n')}
        SELECT o.outcome, r.*, ${USER_COLUMNS}
          FROM outcome o LEFT JOIN request r ON true LEFT JOIN users u ON u.sub = r.subject`;
      return { sql, values: p.values };
    });
    const outcome = row['outcome'] as PromptOutcome;
    const verdict = verdictOf(outcome);
    if (!verdict) return { kind: 'unclaimable' };
    return {
      kind: 'claimed',
      request: toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, row)),
      user: userFromColumns(this.dataSource, row),
      verdict,
      countedNow: outcome === 'counted_now',
    };
  }

  /** Takes the request out of its pair's window and its client's window counter, in one statement (pair first, as claims lock). */
  async release(request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, countedAt: Date, limits: PromptLimits): Promise<void> {
    if (limits.clientUser.limit === 0 && limits.client.limit === 0) return;
    const windowStart = limits.client.limit > 0 ? fixedWindowStart(countedAt, limits.client.windowMs) : null;
    await queryRows(
      this.dataSource,
      `WITH released AS (
         UPDATE client_user_prompts c
            SET (request_ids, sent_at) = (
                  SELECT COALESCE(array_agg(e.id ORDER BY e.sent), '{}'), COALESCE(array_agg(e.sent ORDER BY e.sent), '{}')
                    FROM unnest(c.request_ids, c.sent_at) AS e(id, sent) WHERE e.id <> $1::uuid)
          WHERE c.client_id = $2 AND c.subject = $3 AND $1::uuid = ANY (c.request_ids)
         RETURNING 1
       )
       UPDATE client_prompt_windows SET prompts = prompts - 1
        WHERE client_id = $2 AND window_start = $4 AND prompts > 0 AND EXISTS (SELECT 1 FROM released)`,
      [request.id, request.clientId, request.subject, windowStart],
    );
  }
}
