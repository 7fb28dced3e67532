import type { Decision, DecisionTokenRecord, DecisionTokenRepository, DecisionTokenWithRequest, TokenDecisionResult } from '@ciba/domain';
import { tokenDecisionOf } from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';
import { toAuthRequest } from '../auth-request/auth-request.mapper.js';
import { hydrate, queryRows } from '../sql.js';
import { DecisionTokenEntity } from './decision-token.entity.js';
import { toDecisionToken } from './decision-token.mapper.js';

/** The token's columns beside the request's `*`, renamed where the two tables share a name. */
const TOKEN_COLUMNS = (alias: string) =>
  `${alias}.token_hash AS token_hash, ${alias}.channel AS token_channel, ${alias}.expires_at AS token_expires_at,
   ${alias}.used_at AS token_used_at, ${alias}.decision AS token_decision`;

export class TypeOrmDecisionTokenRepository implements DecisionTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async save(record: Omit<DecisionTokenRecord, 'usedAt' | 'decision'>): Promise<void> {
    await queryRows(this.dataSource, 
      `INSERT INTO decision_tokens (token_hash, request_id, channel, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (token_hash) DO NOTHING`,
      [record.tokenHash, record.requestId, record.channel, record.expiresAt],
    );
  }

  async find(tokenHash: string): Promise<DecisionTokenRecord | null> {
    const rows = await queryRows(this.dataSource, 'SELECT * FROM decision_tokens WHERE token_hash = $1', [tokenHash]);
    return rows.length === 0 ? null : toDecisionToken(hydrate(this.dataSource, DecisionTokenEntity, rows[0]));
  }

  async findWithRequest(tokenHash: string, channel: string): Promise<DecisionTokenWithRequest | null> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT r.*, ${TOKEN_COLUMNS('d')}
         FROM decision_tokens d JOIN auth_requests r ON r.id = d.request_id
        WHERE d.token_hash = $1 AND d.channel = $2`,
      [tokenHash, channel],
    );
    return rows.length === 0 ? null : this.toTokenWithRequest(rows[0]);
  }

  /**
   * One statement, so one round trip and atomic: the token is marked used only together with the
   * decision, and a crash leaves either both or neither. The token row, then the request row, are
   * locked first (FOR UPDATE): a concurrent decision with the same token or another token of the same
   * request queues there, and once it has committed `token` and `request` hold what it left — the
   * loser then changes nothing and returns those (`applied` false), so a token is never used up by a
   * decision that did not happen. `decided` joins the locked `request` rather than checking its own
   * snapshot of the row, which may predate the winner's commit.
   */
  async decide(tokenHash: string, channel: string, decision: Decision, now: Date): Promise<TokenDecisionResult | null> {
    const outcome = tokenDecisionOf(decision);
    const denialReason = decision.kind === 'deny' ? decision.reason : null;
    const stepUp = decision.kind === 'approve' ? (decision.stepUp ?? null) : null;
    const rows = await queryRows(
      this.dataSource,
      `WITH token AS MATERIALIZED (
         SELECT * FROM decision_tokens WHERE token_hash = $1 AND channel = $2 FOR UPDATE
       ),
       request AS MATERIALIZED (
         SELECT r.* FROM auth_requests r JOIN token t ON r.id = t.request_id FOR UPDATE OF r
       ),
       decided AS (
         UPDATE auth_requests AS ar
            SET status = $4, decided_at = $3::timestamptz, denial_reason = $5, acr = $6, amr = $7::text[]
           FROM request rq, token t
          WHERE ar.id = rq.id AND t.decision IS NULL AND t.expires_at > $3::timestamptz
            AND rq.status = 'pending' AND rq.expires_at > $3::timestamptz
         RETURNING ar.*
       ),
       used AS (
         UPDATE decision_tokens AS d SET used_at = $3::timestamptz, decision = $4
           FROM decided WHERE d.token_hash = $1
         RETURNING d.*
       )
       SELECT dd.*, ${TOKEN_COLUMNS('u')}, true AS applied FROM decided dd JOIN used u ON u.request_id = dd.id
       UNION ALL
       SELECT rq.*, ${TOKEN_COLUMNS('t')}, false AS applied FROM request rq JOIN token t ON t.request_id = rq.id
        WHERE NOT EXISTS (SELECT 1 FROM decided)`,
      [tokenHash, channel, now, outcome, denialReason, stepUp?.acr ?? null, [...(stepUp?.amr ?? [])]],
    );
    return rows.length === 0 ? null : { ...this.toTokenWithRequest(rows[0]), applied: rows[0]['applied'] === true };
  }

  private toTokenWithRequest(row: ObjectLiteral): DecisionTokenWithRequest {
    const request = toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, row));
    const token = toDecisionToken({
      tokenHash: row['token_hash'] as string,
      requestId: request.id,
      channel: row['token_channel'] as string,
      expiresAt: row['token_expires_at'] as Date,
      usedAt: row['token_used_at'] as Date | null,
      decision: row['token_decision'] as string | null,
    });
    return { token, request };
  }
}
