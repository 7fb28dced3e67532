import type {
  CallbackDelivery,
  CallbackDeliveryRepository,
  CallbackKind,
  CallbackStatus,
  CallbackTrigger,
  NewCallbackDelivery,
  RefreshTokenRecord,
} from '@ciba/domain';
import type { DataSource, EntityManager, ObjectLiteral } from 'typeorm';
import { oneOf } from '../mapping.js';
import { refreshTokenInsert } from '../refresh-token/refresh-token.repository.js';
import { hydrate, queryRows } from '../sql.js';
import { CallbackDeliveryEntity } from './callback-delivery.entity.js';

const TRIGGERS: readonly CallbackTrigger[] = ['approved', 'denied', 'expired'];
const KINDS: readonly CallbackKind[] = ['ping', 'push_tokens', 'push_error'];
const STATUSES: readonly CallbackStatus[] = ['pending', 'delivered', 'failed'];

export class TypeOrmCallbackDeliveryRepository implements CallbackDeliveryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(id: string): Promise<CallbackDelivery | null> {
    return this.first(await queryRows(this.dataSource, 'SELECT * FROM callback_deliveries WHERE id = $1', [id]));
  }

  async ensure(delivery: NewCallbackDelivery): Promise<CallbackDelivery> {
    await insertDelivery(this.dataSource.manager, delivery);
    const stored = await this.find(delivery.id);
    if (!stored) throw new Error(`callback delivery ${delivery.id} vanished`);
    return stored;
  }

  async ensureRedeemed(delivery: NewCallbackDelivery, now: Date, refreshToken: RefreshTokenRecord | null): Promise<CallbackDelivery | null> {
    const d = delivery;
    const parameters: unknown[] = [d.requestId, now, d.id, d.clientId, d.trigger, d.kind, d.endpoint, d.encryptedMessage, d.createdAt];
    const rt = refreshToken ? refreshTokenInsert(refreshToken, parameters.length + 1) : null;
    // One atomic statement: redeem, store the refresh token and the sealed callback; when an earlier
    // attempt already did, answer the callback stored then.
    const rows = await queryRows(
      this.dataSource,
      `WITH redeemed AS (
              UPDATE auth_requests SET status = 'redeemed', redeemed_at = $2 WHERE id = $1 AND status = 'approved' RETURNING id
            ),
            ${rt ? `stored_token AS (INSERT INTO refresh_tokens (${rt.columns}) SELECT ${rt.placeholders} FROM redeemed),` : ''}
            created AS (
              INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at)
              SELECT $3, $1, $4, $5, $6, $7, $8, $9 FROM redeemed
              ON CONFLICT (id) DO NOTHING
              RETURNING *
            )
       SELECT * FROM created
       UNION ALL
       SELECT * FROM callback_deliveries WHERE id = $3 AND NOT EXISTS (SELECT 1 FROM created)`,
      [...parameters, ...(rt?.parameters ?? [])],
    );
    // A concurrent attempt that won the redemption may have committed after this statement's snapshot
    // was taken (it waited on the row lock): then read again, in a new snapshot.
    return this.first(rows) ?? this.find(d.id);
  }

  async recordAttempt(id: string, error: string | null): Promise<void> {
    await queryRows(this.dataSource, 'UPDATE callback_deliveries SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error]);
  }

  async markDelivered(id: string, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE callback_deliveries SET status = 'delivered', delivered_at = $2, last_error = NULL WHERE id = $1 AND status = 'pending' RETURNING id`,
      [id, now],
    );
    return rows.length > 0;
  }

  async markFailed(id: string, reason: string): Promise<void> {
    await queryRows(this.dataSource, `UPDATE callback_deliveries SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'`, [id, reason]);
  }

  async reopen(id: string): Promise<boolean> {
    const rows = await queryRows(this.dataSource, `UPDATE callback_deliveries SET status = 'pending' WHERE id = $1 AND status = 'failed' RETURNING id`, [id]);
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
    };
  }
}

async function insertDelivery(manager: EntityManager, d: NewCallbackDelivery): Promise<void> {
  await queryRows(
    manager,
    `INSERT INTO callback_deliveries (id, request_id, client_id, "trigger", kind, endpoint, encrypted_message, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
    [d.id, d.requestId, d.clientId, d.trigger, d.kind, d.endpoint, d.encryptedMessage, d.createdAt],
  );
}
