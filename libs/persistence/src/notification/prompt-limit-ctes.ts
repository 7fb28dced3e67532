import { type PromptLimitKind, type PromptLimits, USER_DENIAL_REASONS, fixedWindowStart } from '@ciba/domain';

/** Bind parameters numbered as a statement is assembled from parts. */
export class Parameters {
  readonly values: unknown[] = [];

  add(value: unknown, type: string): string {
    this.values.push(value);
    return `$${this.values.length}::${type}`;
  }
}

/**
 * What the prompt-limit CTEs decided (column `outcome` of the CTE `outcome`):
 * - `unclaimable`: the CTE `request` holds no row;
 * - `counted`: the request was counted before (a retry), allowed without counting it again;
 * - `counted_now`: within every limit, and counted now;
 * - `allowed`: within the back-off, and no limit counts prompts;
 * - a limit kind: refused by that limit, nothing counted;
 * - `no_pair`: the (client, user) row did not exist yet; it is created now, and the statement must run again.
 */
export type PromptOutcome = 'unclaimable' | 'counted' | 'counted_now' | 'allowed' | PromptLimitKind | 'no_pair';

/**
 * The prompt limits as CTEs over a CTE `request` (`id`, `client_id`, `subject`; one row, or none),
 * in one statement and so without a transaction of several round trips:
 *
 * - Per (client, user), one row of `client_user_prompts` holds the requests counted within the
 *   sliding window and when (the limit's count is exact, not an approximation). It is locked first
 *   (FOR UPDATE): concurrent claims for the pair queue there, across replicas, and each then reads
 *   the row as the previous one left it — FOR UPDATE returns the latest version, not the statement's
 *   snapshot. A pair's first claim finds no row to lock: it creates the row and runs again
 *   (`no_pair`), so the count is never taken from a snapshot that misses a concurrent insert.
 * - The client's fixed-window counter is bumped with a conditional upsert (`prompts < limit`, its
 *   row lock serialising the client's claims), only when the pair has room; the pair's row is
 *   appended to only when the bump happened. A refused request uses no budget.
 * - The denial back-off reads the user's own recent denials of this client (an index range).
 * Locks are taken in one order (pair, then client window), so claims cannot deadlock.
 */
export function promptLimitCtes(p: Parameters, now: Date, limits: PromptLimits): string[] {
  const { clientUser, client, denialBackoff } = limits;
  const counting = clientUser.limit > 0 || client.limit > 0;
  const at = p.add(now, 'timestamptz');
  // Only parameters the statement uses: PostgreSQL cannot type one it never sees.
  const pairSince = counting ? p.add(new Date(now.getTime() - clientUser.windowMs), 'timestamptz') : '';
  const ctes: string[] = [];

  if (counting) {
    ctes.push(`pair AS MATERIALIZED (
      SELECT c.request_ids, c.sent_at FROM client_user_prompts c JOIN request r ON c.client_id = r.client_id AND c.subject = r.subject
         FOR UPDATE OF c
    )`);
  }
  const counted = ['EXISTS (SELECT 1 FROM decision_tokens d JOIN request r ON d.request_id = r.id)'];
  if (counting) counted.push('EXISTS (SELECT 1 FROM pair, request r WHERE r.id = ANY (pair.request_ids))');
  const cases = [`WHEN NOT EXISTS (SELECT 1 FROM request) THEN 'unclaimable'`, `WHEN ${counted.join(' OR ')} THEN 'counted'`];
  if (denialBackoff.threshold > 0) cases.push(`WHEN ${backoffCondition(p, at, now, limits)} THEN 'denial_backoff'`);
  if (counting) cases.push(`WHEN NOT EXISTS (SELECT 1 FROM pair) THEN 'no_pair'`);
  if (clientUser.limit > 0) {
    cases.push(`WHEN (SELECT count(*) FROM pair, unnest(pair.sent_at) AS s(sent) WHERE s.sent > ${pairSince}) >= ${p.add(clientUser.limit, 'integer')} THEN 'client_user'`);
  }
  ctes.push(`verdict AS MATERIALIZED (SELECT CASE ${cases.join('\n ')} ELSE 'open' END AS verdict)`);
  if (!counting) {
    ctes.push(`outcome AS (SELECT CASE verdict WHEN 'open' THEN 'allowed' ELSE verdict END AS outcome FROM verdict)`);
    return ctes;
  }

  ctes.push(`created AS (
    INSERT INTO client_user_prompts (client_id, subject, request_ids, sent_at)
    SELECT r.client_id, r.subject, '{}', '{}' FROM request r JOIN verdict v ON v.verdict = 'no_pair'
    ON CONFLICT (client_id, subject) DO NOTHING
  )`);
  if (client.limit > 0) {
    const windowStart = p.add(fixedWindowStart(now, client.windowMs), 'timestamptz');
    // The client's past windows are dropped as it goes, so its counter stays one row.
    ctes.push(`purged AS (
      DELETE FROM client_prompt_windows w USING request r, verdict v
       WHERE v.verdict = 'open' AND w.client_id = r.client_id AND w.window_start < ${windowStart}
    )`);
    ctes.push(`bumped AS (
      INSERT INTO client_prompt_windows (client_id, window_start, prompts)
      SELECT r.client_id, ${windowStart}, 1 FROM request r JOIN verdict v ON v.verdict = 'open'
      ON CONFLICT (client_id, window_start) DO UPDATE SET prompts = client_prompt_windows.prompts + 1
       WHERE client_prompt_windows.prompts < ${p.add(client.limit, 'integer')}
      RETURNING 1
    )`);
  } else {
    ctes.push(`bumped AS (SELECT 1 FROM verdict WHERE verdict = 'open')`);
  }
  // The pair's row keeps only what is still in the window; it is locked above, so this sees its latest version.
  ctes.push(`recorded AS (
    UPDATE client_user_prompts c
       SET (request_ids, sent_at) = (
             SELECT COALESCE(array_agg(e.id ORDER BY e.sent), '{}') || r.id, COALESCE(array_agg(e.sent ORDER BY e.sent), '{}') || ${at}
               FROM unnest(c.request_ids, c.sent_at) AS e(id, sent) WHERE e.sent > ${pairSince})
      FROM request r
     WHERE c.client_id = r.client_id AND c.subject = r.subject AND EXISTS (SELECT 1 FROM bumped)
    RETURNING 1
  )`);
  ctes.push(`outcome AS (
    SELECT CASE WHEN verdict <> 'open' THEN verdict WHEN EXISTS (SELECT 1 FROM recorded) THEN 'counted_now' ELSE 'client' END AS outcome FROM verdict
  )`);
  return ctes;
}

/**
 * The user's own denial reasons as SQL literals, not a parameter: the partial index
 * `ix_auth_requests_user_denials` holds exactly these rows, and the planner uses it only when it can
 * prove the query's condition implies the index's, which it cannot for a parameter in a generic plan.
 */
const USER_DENIAL_REASONS_SQL = USER_DENIAL_REASONS.map((reason) => `'${reason}'`).join(', ');

/**
 * The rule of the domain's `denialBackoffUntil`, in SQL: with `threshold` or more of the user's own
 * denials of this client within the window, refused until `base · 2^(denials − threshold)` (at most
 * `max`) after the last one.
 */
function backoffCondition(p: Parameters, at: string, now: Date, { denialBackoff }: PromptLimits): string {
  const threshold = p.add(denialBackoff.threshold, 'integer');
  return `EXISTS (
    SELECT 1 FROM (
      SELECT count(*) AS denials, max(a.decided_at) AS last_denied_at
        FROM auth_requests a JOIN request r ON a.client_id = r.client_id AND a.subject = r.subject
       WHERE a.decided_at > ${p.add(new Date(now.getTime() - denialBackoff.windowMs), 'timestamptz')}
         AND a.denial_reason IN (${USER_DENIAL_REASONS_SQL})
    ) d
    WHERE d.denials >= ${threshold}
      AND ${at} < d.last_denied_at + LEAST(${p.add(denialBackoff.baseMs, 'float8')} * power(2, LEAST(d.denials - ${threshold}, 52)::float8),
                                           ${p.add(denialBackoff.maxMs, 'float8')}) * interval '1 millisecond'
  )`;
}
