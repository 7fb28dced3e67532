import type { RefreshTokenRecord, RefreshTokenRepository } from '@ciba/domain';
import type { DataSource, EntityManager } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { toRefreshToken } from './refresh-token.mapper.js';

export class TypeOrmRefreshTokenRepository implements RefreshTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async save(record: RefreshTokenRecord): Promise<void> {
    await insertRefreshToken(this.dataSource.manager, record);
  }

  async find(clientId: string, tokenHash: string, now: Date): Promise<RefreshTokenRecord | null> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM refresh_tokens
        WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3`,
      [tokenHash, clientId, now],
    );
    return rows.length === 0 ? null : toRefreshToken(hydrate(this.dataSource, RefreshTokenEntity, rows[0]));
  }

  /** Single use like rotation: of concurrent callers one gets true. */
  async revoke(clientId: string, tokenHash: string, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE refresh_tokens SET used_at = $3
        WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3
        RETURNING token_hash`,
      [tokenHash, clientId, now],
    );
    return rows.length === 1;
  }

  /**
   * Marks the old token used (only if it belongs to `clientId`, is unused and unexpired) and stores
   * its successor, in one transaction: concurrent rotations of one token yield one successor.
   */
  async rotate(clientId: string, oldHash: string, next: RefreshTokenRecord, now: Date): Promise<RefreshTokenRecord | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await queryRows(
        manager,
        `UPDATE refresh_tokens SET used_at = $3, replaced_by = $4
          WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL AND expires_at > $3
          RETURNING *`,
        [oldHash, clientId, now, next.tokenHash],
      );
      if (rows.length === 0) return null;
      await insertRefreshToken(manager, next);
      return toRefreshToken(hydrate(manager, RefreshTokenEntity, rows[0]));
    });
  }
}

/** Shared with the auth request repository, which stores a refresh token in the redemption's transaction. */
export async function insertRefreshToken(manager: EntityManager, record: RefreshTokenRecord): Promise<void> {
  const { columns, placeholders, parameters } = refreshTokenInsert(record, 1);
  await manager.query(`INSERT INTO refresh_tokens (${columns}) VALUES (${placeholders})`, parameters);
}

/** Column list and parameters of a refresh token insert, for statements that embed one (from `$first`). */
export function refreshTokenInsert(record: RefreshTokenRecord, first: number): { columns: string; placeholders: string; parameters: unknown[] } {
  const parameters = [
    record.tokenHash,
    record.clientId,
    record.subject,
    [...record.scope],
    record.authTime,
    record.acr,
    record.expiresAt,
    record.requestId,
    // pg would turn a JS array into a PostgreSQL array: jsonb takes the JSON text.
    record.authorizationDetails === null ? null : JSON.stringify(record.authorizationDetails),
    [...record.amr],
  ];
  return {
    columns: 'token_hash, client_id, subject, scope, auth_time, acr, expires_at, request_id, authorization_details, amr',
    placeholders: parameters.map((_, i) => `$${first + i}`).join(', '),
    parameters,
  };
}
