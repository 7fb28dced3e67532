import type { SigningKeyRecord, SigningKeyRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { SigningKeyEntity } from './signing-key.entity.js';
import { fromSigningKey, toSigningKey } from './signing-key.mapper.js';

export class TypeOrmSigningKeyRepository implements SigningKeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async listPublished(now: Date): Promise<SigningKeyRecord[]> {
    const rows = await queryRows(
      this.dataSource,
      `SELECT * FROM signing_keys
        WHERE unpublish_after IS NULL OR unpublish_after > $1
        ORDER BY created_at DESC, kid`,
      [now],
    );
    return rows.map((row) => toSigningKey(hydrate(this.dataSource, SigningKeyEntity, row)));
  }

  async insert(record: SigningKeyRecord): Promise<void> {
    const row = fromSigningKey(record);
    await this.dataSource.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, encrypted_private_jwk, created_at, retired_at, unpublish_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [row.kid, row.alg, JSON.stringify(row.publicJwk), row.encryptedPrivateJwk, row.createdAt, row.retiredAt, row.unpublishAfter],
    );
  }

  async retireOthers(exceptKids: readonly string[], retiredAt: Date, unpublishAfter: Date): Promise<number> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE signing_keys SET retired_at = $2, unpublish_after = $3
        WHERE retired_at IS NULL AND NOT (kid = ANY($1::text[]))
        RETURNING kid`,
      [[...exceptKids], retiredAt, unpublishAfter],
    );
    return rows.length;
  }

  /**
   * A transaction-scoped advisory lock held on its own connection for the whole of `work`, released
   * at commit or rollback (so also when `work` throws or the process dies). `work` runs its queries
   * on other pool connections: the pool needs at least two.
   */
  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
      return work();
    });
  }
}
