import { createHash } from 'node:crypto';
import type { ClientAssertionJtis } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

/** Expired rows dropped per claim: enough to keep up, never a long statement. */
const PURGE_BATCH = 100;

/**
 * The jti of each accepted client assertion (RFC 7523 §3 (7)), one row per client and jti until the
 * assertion expires. Claiming is one INSERT … ON CONFLICT: of two replicas given the same assertion at
 * once, exactly one inserts the row; the other gets no row back (a row whose assertion has expired
 * is taken over, since that jti can no longer be replayed). The jti is stored as a digest (bounded key size;
 * it is the client's text). Expired rows are dropped as new ones come (SKIP LOCKED: never waiting).
 *
 * Request objects' jtis (CIBA §7.1.1) live in the same table under the `request_object` namespace:
 * the namespace is hashed in with the jti, so a client assertion and a request object may carry the
 * same jti without one using up the other. DPoP proofs' jtis (RFC 9449 §11.1) live under `dpop`,
 * keyed by the proof key's thumbprint in place of the client id.
 */
export class PostgresClientAssertionJtis implements ClientAssertionJtis {
  constructor(
    private readonly dataSource: DataSource,
    private readonly namespace: 'client_assertion' | 'request_object' | 'dpop' = 'client_assertion',
  ) {}

  async claim(clientId: string, jti: string, expiresAt: Date): Promise<boolean> {
    // Client assertions keep the digest of the bare jti they were stored under before namespaces. A
    // jti with a NUL in it could spell another namespace's key, so it is namespaced like the others.
    const bare = this.namespace === 'client_assertion' && !jti.includes('\u0000');
    const hashed = bare ? jti : `${this.namespace}\u0000${jti}`;
    const jtiHash = createHash('sha256').update(hashed, 'utf8').digest('base64url');
    const rows = await queryRows<{ inserted: boolean }>(
      this.dataSource,
      `WITH expired AS MATERIALIZED (
         SELECT client_id, jti_hash FROM client_assertion_jtis WHERE expires_at < now() LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED
       ), purged AS (
         DELETE FROM client_assertion_jtis j USING expired e
          WHERE j.client_id = e.client_id AND j.jti_hash = e.jti_hash AND NOT (j.client_id = $1 AND j.jti_hash = $2)
       )
       INSERT INTO client_assertion_jtis (client_id, jti_hash, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (client_id, jti_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE client_assertion_jtis.expires_at < now()
       RETURNING true AS inserted`,
      [clientId, jtiHash, expiresAt],
    );
    return rows.length === 1;
  }
}
