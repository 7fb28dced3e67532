import type {
  AuthenticatedClient,
  AuthRequest,
  AuthRequestRepository,
  ClientAuthRequests,
  Decision,
  PollRecord,
  RefreshTokenRecord,
} from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { refreshTokenInsert } from '../refresh-token/refresh-token.repository.js';
import { hydrate, queryRows } from '../sql.js';
import { AuthRequestEntity } from './auth-request.entity.js';
import { fromAuthRequest, toAuthRequest } from './auth-request.mapper.js';

export class TypeOrmAuthRequestRepository implements AuthRequestRepository {
  constructor(private readonly dataSource: DataSource) {}

  forClient(client: AuthenticatedClient): ClientAuthRequests {
    return new TypeOrmClientAuthRequests(this.dataSource, client.clientId);
  }

  async create(request: AuthRequest): Promise<void> {
    const row = fromAuthRequest(request);
    await queryRows(
      this.dataSource,
      `INSERT INTO auth_requests (id, client_id, subject, scope, acr_values, binding_message, hint_type, delivery_mode,
                                  sealed_client_notification_token, status, created_at, expires_at, "interval", last_polled_at, decided_at,
                                  denial_reason, redeemed_at, notified_at, correlation_id, authorization_details, acr, amr)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
      [
        row.id,
        row.clientId,
        row.subject,
        row.scope,
        row.acrValues,
        row.bindingMessage,
        row.hintType,
        row.deliveryMode,
        row.sealedClientNotificationToken,
        row.status,
        row.createdAt,
        row.expiresAt,
        row.interval,
        row.lastPolledAt,
        row.decidedAt,
        row.denialReason,
        row.redeemedAt,
        row.notifiedAt,
        row.correlationId,
        // pg would send a JS array as a Postgres array; jsonb wants the JSON text.
        row.authorizationDetails === null ? null : JSON.stringify(row.authorizationDetails),
        row.acr,
        row.amr,
      ],
    );
  }

  async findById(id: string): Promise<AuthRequest | null> {
    return this.first(await queryRows(this.dataSource, 'SELECT * FROM auth_requests WHERE id = $1', [id]));
  }

  async decide(id: string, decision: Decision, now: Date): Promise<AuthRequest | null> {
    const [status, denialReason, denialLimit] = decision.kind === 'approve' ? ['approved', null, null] : ['denied', decision.reason, decision.limit ?? null];
    const stepUp = decision.kind === 'approve' ? (decision.stepUp ?? null) : null;
    const rows = await queryRows(
      this.dataSource,
      `UPDATE auth_requests SET status = $2, decided_at = $3, denial_reason = $4, acr = $5, amr = $6, denial_limit = $7
        WHERE id = $1 AND status = 'pending' AND expires_at > $3
        RETURNING *`,
      [id, status, now, denialReason, stepUp?.acr ?? null, [...(stepUp?.amr ?? [])], denialLimit],
    );
    return this.first(rows);
  }

  /** Keeps the first notification time: a re-notification does not move it. */
  async markNotified(id: string, now: Date): Promise<void> {
    await queryRows(this.dataSource, `UPDATE auth_requests SET notified_at = COALESCE(notified_at, $2) WHERE id = $1`, [id, now]);
  }

  /**
   * SKIP LOCKED: several sweepers share the work instead of queueing behind each other. The due rows
   * are picked in a MATERIALIZED CTE, not `WHERE id IN (subquery)`: the planner may re-run such a
   * subquery, and with LIMIT + SKIP LOCKED a re-run picks other rows (seen here: LIMIT 2 expired 3).
   */
  async expireDue(now: Date, limit: number): Promise<AuthRequest[]> {
    const rows = await queryRows(
      this.dataSource,
      `WITH due AS MATERIALIZED (
         SELECT id FROM auth_requests
          WHERE status = 'pending' AND expires_at <= $1
          ORDER BY expires_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       )
       UPDATE auth_requests AS ar SET status = 'expired'
         FROM due
        WHERE ar.id = due.id
       RETURNING ar.*`,
      [now, limit],
    );
    return this.all(rows);
  }

  async markOutcomePublished(ids: readonly string[], now: Date): Promise<void> {
    if (ids.length === 0) return;
    await queryRows(
      this.dataSource,
      `UPDATE auth_requests SET outcome_published_at = $2 WHERE id = ANY($1::uuid[]) AND outcome_published_at IS NULL`,
      [[...ids], now],
    );
  }

  /** The predicate matches the partial index `ix_auth_requests_outcome_unpublished`, which holds only these rows. */
  async findUnpublishedOutcomes(settledBefore: Date, limit: number): Promise<AuthRequest[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM auth_requests
        WHERE status <> 'pending' AND outcome_published_at IS NULL AND COALESCE(decided_at, expires_at) < $1
        ORDER BY COALESCE(decided_at, expires_at)
        LIMIT $2`,
      [settledBefore, limit],
    );
    return this.all(rows);
  }

  async findUnnotified(createdBefore: Date, limit: number): Promise<AuthRequest[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM auth_requests r
        WHERE r.status = 'pending' AND r.notified_at IS NULL AND r.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM decision_tokens d WHERE d.request_id = r.id)
        ORDER BY r.created_at
        LIMIT $2`,
      [createdBefore, limit],
    );
    return this.all(rows);
  }

  private first(rows: ObjectLiteral[]): AuthRequest | null {
    return rows.length === 0 ? null : toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0]));
  }

  private all(rows: ObjectLiteral[]): AuthRequest[] {
    return rows.map((row) => toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, row)));
  }
}

/**
 * Every statement here carries `client_id = $2`: another client's request is simply not found. The
 * request id comes from an auth_req_id whose MAC the caller has verified.
 */
class TypeOrmClientAuthRequests implements ClientAuthRequests {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clientId: string,
  ) {}

  async find(requestId: string): Promise<AuthRequest | null> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM auth_requests WHERE id = $1 AND client_id = $2`, [
      requestId,
      this.clientId,
    ]);
    return this.first(rows);
  }

  /**
   * One statement. The CTE locks the row first (FOR UPDATE), so concurrent polls queue on the row
   * lock and each sees the previous one's result; `prev` then holds the values before this poll,
   * which is what "too soon" is judged on (RETURNING alone only sees the new values).
   * Only pending requests count polls; any other status is returned unchanged with tooSoon false.
   */
  async recordPoll(requestId: string, now: Date, slowDownIncrement: number): Promise<PollRecord | null> {
    const rows = await queryRows(
      this.dataSource,
      `WITH prev AS MATERIALIZED (
         SELECT id, status, last_polled_at, "interval",
                (status = 'pending'
                 AND last_polled_at IS NOT NULL
                 AND last_polled_at > $3::timestamptz - make_interval(secs => "interval")) AS too_soon
           FROM auth_requests
          WHERE id = $1 AND client_id = $2
          FOR UPDATE
       )
       UPDATE auth_requests AS ar
          SET last_polled_at = CASE WHEN prev.status = 'pending' AND NOT prev.too_soon THEN $3::timestamptz
                                    ELSE prev.last_polled_at END,
              "interval" = CASE WHEN prev.too_soon THEN prev."interval" + $4::integer ELSE prev."interval" END
         FROM prev
        WHERE ar.id = prev.id
       RETURNING ar.*, prev.too_soon AS too_soon`,
      [requestId, this.clientId, now, slowDownIncrement],
    );
    if (rows.length === 0) return null;
    return {
      request: toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0])),
      tooSoon: rows[0]['too_soon'] === true,
    };
  }

  async redeem(requestId: string, now: Date, refreshToken: RefreshTokenRecord | null): Promise<AuthRequest | null> {
    const update = `UPDATE auth_requests SET status = 'redeemed', redeemed_at = $3
                     WHERE id = $1 AND client_id = $2 AND status = 'approved'
                     RETURNING *`;
    const parameters: unknown[] = [requestId, this.clientId, now];
    if (!refreshToken) return this.first(await queryRows(this.dataSource, update, parameters));
    // One statement, so one round trip and atomic: the refresh token is stored only with the winning
    // redemption, and a failing insert undoes the redemption.
    const insert = refreshTokenInsert(refreshToken, parameters.length + 1);
    return this.first(
      await queryRows(
        this.dataSource,
        `WITH redeemed AS (${update}),
              stored AS (INSERT INTO refresh_tokens (${insert.columns}) SELECT ${insert.placeholders} FROM redeemed)
         SELECT * FROM redeemed`,
        [...parameters, ...insert.parameters],
      ),
    );
  }

  private first(rows: ObjectLiteral[]): AuthRequest | null {
    return rows.length === 0 ? null : toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0]));
  }
}
