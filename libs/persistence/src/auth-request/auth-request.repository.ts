import {
  type AccessTokenToStore,
  type AuthenticatedClient,
  type AuthRequest,
  type AuthRequestRepository,
  type ClientAuthRequests,
  ClientNoLongerRegistered,
  type Decision,
  type PollRecord,
  type RefreshTokenToStore,
  type UserHint,
} from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { userHintSql } from '../user/user.repository.js';
import { USER_COLUMNS, userFromColumns } from '../user/user.mapper.js';
import { REFRESH_TOKEN_COLUMNS } from '../refresh-token/refresh-token.repository.js';
import { AuthRequestEntity } from './auth-request.entity.js';
import { fromAuthRequest, toAuthRequest } from './auth-request.mapper.js';

/** auth_requests.client_id references clients (initial schema). */
const CLIENT_FOREIGN_KEY = 'fk_auth_requests_client';

/** The constraint a failed statement violated: from pg directly (prepared statements) or wrapped by TypeORM. */
function violatedConstraint(err: unknown): string | undefined {
  const direct = (err as { constraint?: unknown } | null)?.constraint;
  const wrapped = (err as { driverError?: { constraint?: unknown } } | null)?.driverError?.constraint;
  const found = direct ?? wrapped;
  return typeof found === 'string' ? found : undefined;
}

export class TypeOrmAuthRequestRepository implements AuthRequestRepository {
  constructor(private readonly dataSource: DataSource) {}

  forClient(client: AuthenticatedClient): ClientAuthRequests {
    return new TypeOrmClientAuthRequests(this.dataSource, client.clientId);
  }

  async create(request: AuthRequest): Promise<void> {
    const insert = authRequestInsert(request);
    await queryRows(this.dataSource, `INSERT INTO auth_requests (subject, ${insert.columns}) VALUES ($${insert.parameters.length + 1}, ${insert.placeholders})`, [
      ...insert.parameters,
      request.subject,
    ]);
  }

  /** bc-authorize in one round trip: the user looked up by the hint and the request stored for them. */
  async createForUser(request: Omit<AuthRequest, 'subject'>, hint: UserHint): Promise<string | null> {
    const insert = authRequestInsert(request);
    const user = userHintSql(hint, insert.parameters.length + 1);
    if (!user) return null;
    let rows: { subject: string }[];
    try {
      rows = await queryRows<{ subject: string }>(
        this.dataSource,
        `INSERT INTO auth_requests (subject, ${insert.columns}) SELECT hinted.sub, ${insert.placeholders} FROM (${user.sql}) AS hinted RETURNING subject`,
        [...insert.parameters, ...user.parameters],
      );
    } catch (err) {
      // The client's row went away after it authenticated (deleted through another replica).
      if (violatedConstraint(err) === CLIENT_FOREIGN_KEY) throw new ClientNoLongerRegistered(request.clientId);
      throw err;
    }
    return rows[0]?.subject ?? null;
  }

  async findById(id: string): Promise<AuthRequest | null> {
    return this.first(await queryRows(this.dataSource, 'SELECT * FROM auth_requests WHERE id = $1', [id]));
  }

  async findByAccessTokenJti(jti: string): Promise<AuthRequest | null> {
    return this.first(
      await queryRows(this.dataSource, 'SELECT r.* FROM access_token_jtis j JOIN auth_requests r ON r.id = j.request_id WHERE j.jti = $1', [jti]),
    );
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

/** The columns of an auth_requests row but `subject`, with their placeholders ($1…) and values. */
function authRequestInsert(request: Omit<AuthRequest, 'subject'>): { columns: string; placeholders: string; parameters: unknown[] } {
  const row = fromAuthRequest({ ...request, subject: '' });
  const values: Record<string, unknown> = {
    id: row.id,
    client_id: row.clientId,
    scope: row.scope,
    acr_values: row.acrValues,
    binding_message: row.bindingMessage,
    hint_type: row.hintType,
    delivery_mode: row.deliveryMode,
    sealed_client_notification_token: row.sealedClientNotificationToken,
    status: row.status,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    '"interval"': row.interval,
    last_polled_at: row.lastPolledAt,
    decided_at: row.decidedAt,
    denial_reason: row.denialReason,
    redeemed_at: row.redeemedAt,
    notified_at: row.notifiedAt,
    correlation_id: row.correlationId,
    trace_context: row.traceContext,
    // pg would send a JS array as a Postgres array; jsonb wants the JSON text.
    authorization_details: row.authorizationDetails === null ? null : JSON.stringify(row.authorizationDetails),
    acr: row.acr,
    amr: row.amr,
  };
  const columns = Object.keys(values);
  return { columns: columns.join(', '), placeholders: columns.map((_, i) => `$${i + 1}`).join(', '), parameters: Object.values(values) };
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
   * which is what "too soon" and "approved" are judged on (RETURNING alone only sees the new values).
   * Only pending requests count polls; an approved one is redeemed (with its refresh token stored
   * from the redeemed row, and its access token's jti recorded); any other status is returned
   * unchanged with tooSoon false.
   */
  async recordPoll(
    requestId: string,
    now: Date,
    slowDownIncrement: number,
    refreshToken: RefreshTokenToStore | null,
    accessToken: AccessTokenToStore | null = null,
  ): Promise<PollRecord | null> {
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
       ),
       polled AS (
         UPDATE auth_requests AS ar
            SET last_polled_at = CASE WHEN prev.status = 'pending' AND NOT prev.too_soon THEN $3::timestamptz
                                      ELSE prev.last_polled_at END,
                "interval" = CASE WHEN prev.too_soon THEN prev."interval" + $4::integer ELSE prev."interval" END,
                status = CASE WHEN prev.status = 'approved' THEN 'redeemed' ELSE ar.status END,
                redeemed_at = CASE WHEN prev.status = 'approved' THEN $3::timestamptz ELSE ar.redeemed_at END
           FROM prev
          WHERE ar.id = prev.id
         RETURNING ar.*, prev.too_soon AS too_soon, prev.status = 'approved' AS redeemed_now
       ),
       stored_token AS (
         INSERT INTO refresh_tokens (${REFRESH_TOKEN_COLUMNS})
         SELECT $5::text, client_id, subject, scope, COALESCE(decided_at, $3::timestamptz), acr, $6::timestamptz, id, authorization_details, amr
           FROM polled
          WHERE redeemed_now AND $5::text IS NOT NULL AND 'offline_access' = ANY(scope)
       ),
       stored_jti AS (
         INSERT INTO access_token_jtis (jti, request_id, client_id, issued_at, expires_at)
         SELECT $7::text, id, client_id, $3::timestamptz, $8::timestamptz
           FROM polled
          WHERE redeemed_now AND $7::text IS NOT NULL
       )
       SELECT polled.*, ${USER_COLUMNS} FROM polled LEFT JOIN users u ON u.sub = polled.subject`,
      [requestId, this.clientId, now, slowDownIncrement, refreshToken?.tokenHash ?? null, refreshToken?.expiresAt ?? null, accessToken?.jti ?? null, accessToken?.expiresAt ?? null],
    );
    if (rows.length === 0) return null;
    return {
      request: toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0])),
      tooSoon: rows[0]['too_soon'] === true,
      redeemed: rows[0]['redeemed_now'] === true,
      user: userFromColumns(this.dataSource, rows[0]),
    };
  }

  async undoRedemption(requestId: string, redeemedAt: Date, refreshTokenHash: string | null): Promise<void> {
    await queryRows(
      this.dataSource,
      `WITH undone AS (
         UPDATE auth_requests SET status = 'approved', redeemed_at = NULL
          WHERE id = $1 AND client_id = $2 AND status = 'redeemed' AND redeemed_at = $3
         RETURNING id
       )
       DELETE FROM refresh_tokens WHERE token_hash = $4 AND request_id IN (SELECT id FROM undone)`,
      [requestId, this.clientId, redeemedAt, refreshTokenHash],
    );
  }

  private first(rows: ObjectLiteral[]): AuthRequest | null {
    return rows.length === 0 ? null : toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0]));
  }
}
