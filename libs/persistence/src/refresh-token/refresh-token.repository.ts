import type { AccessTokenToStore, RefreshTokenLookup, RefreshTokenRecord, RefreshTokenRepository, RefreshTokenRotation } from '@ciba/domain';
import type { DataSource, EntityManager, ObjectLiteral } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { RefreshTokenEntity } from './refresh-token.entity.js';
import { toRefreshToken } from './refresh-token.mapper.js';

export class TypeOrmRefreshTokenRepository implements RefreshTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async save(record: RefreshTokenRecord): Promise<void> {
    await insertRefreshToken(this.dataSource.manager, record);
  }

  async find(clientId: string, tokenHash: string, now: Date): Promise<RefreshTokenLookup> {
    const [row] = await queryRows(
      this.dataSource,
      `SELECT *, (used_at IS NULL AND revoked_at IS NULL AND expires_at > $3) AS active
         FROM refresh_tokens
        WHERE token_hash = $1 AND client_id = $2`,
      [tokenHash, clientId, now],
    );
    if (!row) return { kind: 'invalid' };
    if (row['active'] === true) return { kind: 'active', record: toRefreshToken(hydrate(this.dataSource, RefreshTokenEntity, row)) };
    return usedOrInvalid(row);
  }

  /** Single use like rotation: of concurrent callers one gets true (and records `accessToken`, in the same statement). */
  async revoke(clientId: string, tokenHash: string, now: Date, accessToken: AccessTokenToStore | null = null): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `WITH consumed AS (
         UPDATE refresh_tokens SET used_at = $3
          WHERE token_hash = $1 AND client_id = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
         RETURNING token_hash, request_id, client_id
       ),
       ${accessTokenJtiInsert('consumed', 4)}
       SELECT token_hash FROM consumed`,
      [tokenHash, clientId, now, accessToken?.jti ?? null, accessToken?.expiresAt ?? null],
    );
    return rows.length === 1;
  }

  /**
   * Marks the old token used and stores its successor, in one transaction holding the grant's lock
   * (see `revokeFamily`): concurrent rotations of one token yield one successor, and the losers see
   * the token as used.
   */
  async rotate(clientId: string, oldHash: string, next: RefreshTokenRecord, now: Date, accessToken: AccessTokenToStore | null = null): Promise<RefreshTokenRotation> {
    return this.dataSource.transaction(async (manager) => {
      await lockGrant(manager, next.requestId);
      // The access token issued with `next` is recorded by the statement that consumes the old token.
      const rows = await queryRows(
        manager,
        `WITH rotated AS (
           UPDATE refresh_tokens SET used_at = $3, replaced_by = $4
            WHERE token_hash = $1 AND client_id = $2 AND request_id = $5
              AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
            RETURNING *
         ),
         ${accessTokenJtiInsert('rotated', 6)}
         SELECT * FROM rotated`,
        [oldHash, clientId, now, next.tokenHash, next.requestId, accessToken?.jti ?? null, accessToken?.expiresAt ?? null],
      );
      if (rows.length === 1) {
        await insertRefreshToken(manager, next);
        return { kind: 'rotated', previous: toRefreshToken(hydrate(manager, RefreshTokenEntity, rows[0])) };
      }
      const [row] = await queryRows(manager, `SELECT request_id, used_at FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2`, [oldHash, clientId]);
      return row ? usedOrInvalid(row) : { kind: 'invalid' };
    });
  }

  /**
   * One UPDATE over the grant, after taking the grant's transaction-scoped advisory lock, which
   * `rotate` takes too. Under READ COMMITTED an UPDATE does not see rows committed after it started,
   * so without the lock a rotation committing during the revocation could leave its successor alive;
   * with it, the revocation sees every successor stored before (and the access token issued with
   * it), and any rotation after it finds its token revoked.
   */
  async revokeFamily(clientId: string, requestId: string, now: Date): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await lockGrant(manager, requestId);
      // RFC 7009 §2.1: the grant's access tokens go with it (each recorded by the statement that issued it).
      const rows = await queryRows(
        manager,
        `WITH access_tokens AS (
           UPDATE access_token_jtis SET revoked_at = $3
            WHERE request_id = $1 AND client_id = $2 AND revoked_at IS NULL AND expires_at > $3
         )
         UPDATE refresh_tokens SET revoked_at = $3
          WHERE request_id = $1 AND client_id = $2 AND revoked_at IS NULL
          RETURNING (used_at IS NULL AND expires_at > $3) AS was_active`,
        [requestId, clientId, now],
      );
      return rows.filter((row) => row['was_active'] === true).length;
    });
  }
}

/**
 * A CTE recording the access token `$jti` (expiring at the next parameter) for the grant of the
 * refresh token `source` consumed, when it consumed one and a jti is given; `$3` is the time.
 */
function accessTokenJtiInsert(source: string, jti: number): string {
  return `stored_jti AS (
         INSERT INTO access_token_jtis (jti, request_id, client_id, issued_at, expires_at)
         SELECT $${jti}::text, request_id, client_id, $3::timestamptz, $${jti + 1}::timestamptz FROM ${source} WHERE $${jti}::text IS NOT NULL
       )`;
}

/** The two-key advisory lock space, apart from the one-key locks of the signing keys. */
async function lockGrant(manager: EntityManager, requestId: string): Promise<void> {
  await queryRows(manager, `SELECT pg_advisory_xact_lock(hashtext('refresh_tokens'), hashtext($1::text))`, [requestId]);
}

function usedOrInvalid(row: ObjectLiteral): Extract<RefreshTokenLookup, { kind: 'used' | 'invalid' }> {
  return row['used_at'] === null ? { kind: 'invalid' } : { kind: 'used', requestId: String(row['request_id']) };
}

/** Shared with the auth request repository, which stores a refresh token in the redemption's transaction. */
export async function insertRefreshToken(manager: EntityManager, record: RefreshTokenRecord): Promise<void> {
  const { columns, placeholders, parameters } = refreshTokenInsert(record, 1);
  await manager.query(`INSERT INTO refresh_tokens (${columns}) VALUES (${placeholders})`, parameters);
}

/** The columns a refresh token is stored with, in the order of `refreshTokenInsert`'s parameters. */
export const REFRESH_TOKEN_COLUMNS = 'token_hash, client_id, subject, scope, auth_time, acr, expires_at, request_id, authorization_details, amr';

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
    columns: REFRESH_TOKEN_COLUMNS,
    placeholders: parameters.map((_, i) => `$${first + i}`).join(', '),
    parameters,
  };
}
