import type { AuthRequest, NotificationLimiter, PromptLimits, PromptVerdict } from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { queryRows } from '../sql.js';
import { Parameters, type PromptOutcome, promptLimitCtes } from './prompt-limit-ctes.js';

const ALLOWED: PromptVerdict = { allowed: true };

/** A pair's first claim creates its row and runs again; more than that means rows vanish under it. */
const RUNS = 3;

/** True when no limit is on: nothing to count or read. */
export function limitsOff({ clientUser, client, denialBackoff }: PromptLimits): boolean {
  return clientUser.limit === 0 && client.limit === 0 && denialBackoff.threshold === 0;
}

/** The verdict an outcome means; null for `unclaimable` and `no_pair`, which are not verdicts. */
export function verdictOf(outcome: PromptOutcome): PromptVerdict | null {
  switch (outcome) {
    case 'counted':
    case 'counted_now':
    case 'allowed':
      return ALLOWED;
    case 'client_user':
    case 'client':
    case 'denial_backoff':
      return { allowed: false, limit: outcome };
    case 'unclaimable':
    case 'no_pair':
      return null;
  }
}

/**
 * Runs a statement built on the prompt-limit CTEs (its first row carries `outcome`), again when a
 * pair's first claim had to create the pair's row first.
 */
export async function runPromptStatement(dataSource: DataSource, build: () => { sql: string; values: unknown[] }): Promise<ObjectLiteral> {
  for (let run = 1; ; run++) {
    const { sql, values } = build();
    const [row] = await queryRows(dataSource, sql, values);
    if (!row) throw new Error('the prompt-limit statement returned no row');
    if (row['outcome'] !== 'no_pair') return row;
    if (run === RUNS) throw new Error(`the (client, user) prompt row was missing ${RUNS} times in a row`);
  }
}

/**
 * The prompt limits, every one scoped to the asking client, in one statement (see `promptLimitCtes`);
 * `PostgresPromptClaims` runs the same CTEs inside the statement that starts a notification.
 */
export class PostgresNotificationLimiter implements NotificationLimiter {
  constructor(private readonly dataSource: DataSource) {}

  async acquire(request: Pick<AuthRequest, 'id' | 'clientId' | 'subject'>, now: Date, limits: PromptLimits): Promise<PromptVerdict> {
    if (limitsOff(limits)) return ALLOWED;
    const row = await runPromptStatement(this.dataSource, () => {
      const p = new Parameters();
      const source = `request AS (SELECT ${p.add(request.id, 'uuid')} AS id, ${p.add(request.clientId, 'text')} AS client_id, ${p.add(request.subject, 'text')} AS subject)`;
      const ctes = [source, ...promptLimitCtes(p, now, limits)];
      return { sql: `WITH ${ctes.join(',\n')}\nSELECT outcome FROM outcome`, values: p.values };
    });
    const verdict = verdictOf(row['outcome'] as PromptOutcome);
    if (!verdict) throw new Error(`unexpected prompt outcome ${String(row['outcome'])}`);
    return verdict;
  }
}
