import type { AccessTokenRevocations } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

/**
 * Revoked access tokens, on their rows in `access_token_jtis` (one statement each, by primary key).
 * A revocation names the client, so a client revokes only its own tokens; revoking again keeps the
 * first time.
 */
export class PostgresAccessTokenRevocations implements AccessTokenRevocations {
  constructor(private readonly dataSource: DataSource) {}

  async revoke(clientId: string, jti: string, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE access_token_jtis SET revoked_at = COALESCE(revoked_at, $3) WHERE jti = $1 AND client_id = $2 RETURNING jti`,
      [jti, clientId, now],
    );
    return rows.length === 1;
  }

  async isRevoked(jti: string): Promise<boolean> {
    const rows = await queryRows(this.dataSource, `SELECT 1 FROM access_token_jtis WHERE jti = $1 AND revoked_at IS NOT NULL`, [jti]);
    return rows.length > 0;
  }
}
