import type {
  AccessTokenToStore,
  AttemptClaim,
  AttemptResult,
  AuthRequest,
  CallbackDelivery,
  CallbackDeliveryRepository,
  CallbackKind,
  CallbackStatus,
  CallbackTrigger,
  FirstAttempt,
  NewCallbackDelivery,
  RefreshTokenRecord,
} from '@ciba/domain';
import type { DataSource, ObjectLiteral } from 'typeorm';
import { oneOf } from '../mapping.js';
import { refreshTokenInsert } from '../refresh-token/refresh-token.repository.js';
import { hydrate, queryRows } from '../sql.js';
import { CallbackDeliveryEntity } from './callback-delivery.entity.js';
import { AuthRequestEntity } from '../auth-request/auth-request.entity.js';
import { toAuthRequest } from '../auth-request/auth-request.mapper.js';

const TRIGGERS: readonly CallbackTrigger[] = ['approved', 'denied', 'expired'];
const KINDS: readonly CallbackKind[] = ['ping', 'push_tokens', 'push_error'];
const STATUSES: readonly CallbackStatus[] = ['pending', 'delivered', 'failed'];

export class TypeOrmCallbackDeliveryRepository implements CallbackDeliveryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(id: string): Promise<CallbackDelivery | null> {
    return this.first(await queryRows(this.dataSource, 'SELECT * FROM callback_deliveries WHERE id = $1', [id]));
  }

  async ensure(delivery: NewCallbackDelivery, leaseUntil: Date): Promise<AttemptClaim> {
    const d = delivery;
    const rows = await queryRows(
      this.dataSource,
      `WITH created AS (
         INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at, attempt_lease_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING
         RETURNING *
       )
       SELECT true AS claimed, * FROM created
       UNION ALL
       SELECT false AS claimed, * FROM callback_deliveries WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM created)`,
      [d.id, d.requestId, d.clientId, d.trigger, d.kind, d.endpoint, d.encryptedMessage, d.createdAt, leaseUntil],
    );
    // A concurrent insert committed after this statement's snapshot: read again, in a new one.
    const stored = this.claimOf(rows) ?? (await this.unclaimed(d.id));
    if (!stored) throw new Error(`callback delivery ${d.id} vanished`);
    return stored;
  }

  async openFirstAttempt(attempt: FirstAttempt): Promise<{ request: AuthRequest | null; created: AttemptClaim | null }> {
    const a = attempt;
    const rows = await queryRows(
      this.dataSource,
      `WITH request AS MATERIALIZED (SELECT * FROM auth_requests WHERE id = $1),
            created AS (
              INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at, attempt_lease_until)
              SELECT $2, r.id, r.client_id, $3, 'ping', $4, r.sealed_client_notification_token, $5, $6
                FROM request r
               WHERE r.delivery_mode = 'ping' AND r.sealed_client_notification_token IS NOT NULL AND $4::text IS NOT NULL AND $7::boolean
              ON CONFLICT (id) DO NOTHING
              RETURNING encrypted_message
            )
       SELECT r.*, (SELECT encrypted_message FROM created) AS created_message FROM request r`,
      [a.requestId, a.id, a.trigger, a.endpoint, a.now, a.leaseUntil, a.pingWanted],
    );
    if (rows.length === 0) return { request: null, created: null };
    const request = toAuthRequest(hydrate(this.dataSource, AuthRequestEntity, rows[0]));
    const message = rows[0]['created_message'] as string | null;
    if (message === null || a.endpoint === null) return { request, created: null };
    const delivery: CallbackDelivery = {
      id: a.id,
      requestId: request.id,
      clientId: request.clientId,
      trigger: a.trigger,
      kind: 'ping',
      endpoint: a.endpoint,
      encryptedMessage: message,
      status: 'pending',
      attempts: 0,
      lastError: null,
      createdAt: a.now,
      deliveredAt: null,
      attemptLeaseUntil: a.leaseUntil,
    };
    return { request, created: { claimed: true, delivery } };
  }

  async ensureRedeemed(
    delivery: NewCallbackDelivery,
    now: Date,
    refreshToken: RefreshTokenRecord | null,
    leaseUntil: Date,
    accessToken: AccessTokenToStore | null = null,
  ): Promise<AttemptClaim | null> {
    const d = delivery;
    const parameters: unknown[] = [d.requestId, now, d.id, d.clientId, d.trigger, d.kind, d.endpoint, d.encryptedMessage, d.createdAt, leaseUntil, accessToken?.jti ?? null, accessToken?.expiresAt ?? null];
    const rt = refreshToken ? refreshTokenInsert(refreshToken, parameters.length + 1) : null;
    // One atomic statement: redeem, store the refresh token, the access token's jti and the sealed
    // callback; when an earlier attempt already did, answer the callback stored then.
    const rows = await queryRows(
      this.dataSource,
      `WITH redeemed AS (
              UPDATE auth_requests SET status = 'redeemed', redeemed_at = $2 WHERE id = $1 AND status = 'approved' RETURNING id
            ),
            ${rt ? `stored_token AS (INSERT INTO refresh_tokens (${rt.columns}) SELECT ${rt.placeholders} FROM redeemed),` : ''}
            stored_jti AS (
              INSERT INTO access_token_jtis (jti, request_id, client_id, issued_at, expires_at)
              SELECT $11::text, $1, $4, $2, $12::timestamptz FROM redeemed WHERE $11::text IS NOT NULL
            ),
            created AS (
              INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at, attempt_lease_until)
              SELECT $3, $1, $4, $5, $6, $7, $8, $9, $10 FROM redeemed
              ON CONFLICT (id) DO NOTHING
              RETURNING *
            )
       SELECT true AS claimed, * FROM created
       UNION ALL
       SELECT false AS claimed, * FROM callback_deliveries WHERE id = $3 AND NOT EXISTS (SELECT 1 FROM created)`,
      [...parameters, ...(rt?.parameters ?? [])],
    );
    // A concurrent attempt that won the redemption may have committed after this statement's snapshot
    // was taken (it waited on the row lock): then read again, in a new snapshot.
    return this.claimOf(rows) ?? this.unclaimed(d.id);
  }

  private claimOf(rows: ObjectLiteral[]): AttemptClaim | null {
    return rows.length === 0 ? null : { claimed: rows[0]['claimed'] === true, delivery: this.map(rows[0]) };
  }

  private async unclaimed(id: string): Promise<AttemptClaim | null> {
    const delivery = await this.find(id);
    return delivery ? { claimed: false, delivery } : null;
  }

  async claimAttempt(id: string, now: Date, leaseUntil: Date): Promise<AttemptClaim | null> {
    // One statement: the conditional UPDATE is the claim (the row lock makes concurrent claimers
    // queue, and each re-checks the condition on the row as the previous one left it); the second
    // branch answers the delivery as it stands when the claim was refused.
    const rows = await queryRows(
      this.dataSource,
      `WITH claimed AS (
         UPDATE callback_deliveries SET attempt_lease_until = $3
          WHERE id = $1 AND status = 'pending' AND (attempt_lease_until IS NULL OR attempt_lease_until <= $2)
         RETURNING *
       )
       SELECT true AS claimed, * FROM claimed
       UNION ALL
       SELECT false AS claimed, * FROM callback_deliveries WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM claimed)`,
      [id, now, leaseUntil],
    );
    if (rows.length === 0) return null;
    const claimed = rows[0]['claimed'] === true;
    const delivery = this.map(rows[0]);
    if (claimed || delivery.status !== 'pending' || isLeased(delivery, now)) return { claimed, delivery };
    // Refused, yet pending and free in this statement's snapshot: a concurrent claim committed after
    // the snapshot was taken. Read again, in a new one, to learn its lease.
    const current = await this.find(id);
    return current ? { claimed: false, delivery: current } : null;
  }

  async finishAttempt(id: string, leaseUntil: Date, result: AttemptResult): Promise<boolean> {
    const error = result.status === 'delivered' ? null : result.error;
    const deliveredAt = result.status === 'delivered' ? result.at : null;
    // The status changes only from pending (another attempt may have settled it); the lease is
    // released only while it is still this attempt's (its end time is the attempt's fencing token).
    const rows = await queryRows<{ previous: string }>(
      this.dataSource,
      `UPDATE callback_deliveries AS d
          SET attempts = d.attempts + 1,
              status = CASE WHEN p.previous = 'pending' THEN $2 ELSE d.status END,
              last_error = CASE WHEN p.previous = 'pending' THEN $3 ELSE d.last_error END,
              delivered_at = CASE WHEN p.previous = 'pending' AND $2 = 'delivered' THEN $4::timestamptz ELSE d.delivered_at END,
              attempt_lease_until = CASE WHEN d.attempt_lease_until = $5 THEN NULL ELSE d.attempt_lease_until END
         FROM (SELECT id, status AS previous FROM callback_deliveries WHERE id = $1 FOR UPDATE) AS p
        WHERE d.id = p.id
       RETURNING p.previous`,
      [id, result.status, error, deliveredAt, leaseUntil],
    );
    return rows[0]?.previous === 'pending' && result.status !== 'pending';
  }

  async reopen(id: string): Promise<boolean> {
    const rows = await queryRows(this.dataSource, `UPDATE callback_deliveries SET status = 'pending', attempt_lease_until = NULL WHERE id = $1 AND status = 'failed' RETURNING id`, [id]);
    return rows.length > 0;
  }

  async listFailed(limit: number): Promise<CallbackDelivery[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM callback_deliveries WHERE status = 'failed' ORDER BY created_at LIMIT $1`, [limit]);
    return rows.map((row) => this.map(row));
  }

  private first(rows: ObjectLiteral[]): CallbackDelivery | null {
    return rows.length === 0 ? null : this.map(rows[0]);
  }

  private map(row: ObjectLiteral): CallbackDelivery {
    const e = hydrate(this.dataSource, CallbackDeliveryEntity, row);
    return {
      id: e.id,
      requestId: e.requestId,
      clientId: e.clientId,
      trigger: oneOf(e.trigger, TRIGGERS, 'callback_deliveries.trigger'),
      kind: oneOf(e.kind, KINDS, 'callback_deliveries.kind'),
      endpoint: e.endpoint,
      encryptedMessage: e.encryptedMessage,
      status: oneOf(e.status, STATUSES, 'callback_deliveries.status'),
      attempts: e.attempts,
      lastError: e.lastError,
      createdAt: e.createdAt,
      deliveredAt: e.deliveredAt,
      attemptLeaseUntil: e.attemptLeaseUntil ?? null,
    };
  }
}

function isLeased(delivery: CallbackDelivery, now: Date): boolean {
  return delivery.attemptLeaseUntil !== null && delivery.attemptLeaseUntil.getTime() > now.getTime();
}
