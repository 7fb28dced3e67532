import type { NewPasskey, Passkey, PasskeyRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { PasskeyEntity } from './passkey.entity.js';

/** Thrown inside the registration transaction to undo the link's use when the credential exists. */
class DuplicateCredential extends Error {}

export class TypeOrmPasskeyRepository implements PasskeyRepository {
  constructor(private readonly dataSource: DataSource) {}

  async registerWithEnrolmentLink(
    passkey: NewPasskey,
    enrolmentTokenHash: string,
    now: Date,
  ): Promise<{ kind: 'registered'; passkey: Passkey } | { kind: 'link_used' } | { kind: 'duplicate' }> {
    try {
      return await this.dataSource.transaction(async (manager) => {
        const link = await queryRows(
          manager,
          `UPDATE enrolment_tokens SET passkey_registered_at = $3
            WHERE token_hash = $1 AND subject = $2 AND passkey_registered_at IS NULL AND expires_at > $3
            RETURNING subject`,
          [enrolmentTokenHash, passkey.subject, now],
        );
        if (link.length === 0) return { kind: 'link_used' as const };
        const rows = await queryRows(
          manager,
          `INSERT INTO passkeys (id, subject, credential_id, public_key, sign_count, transports, backed_up, label, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (credential_id) DO NOTHING
           RETURNING *`,
          [
            passkey.id,
            passkey.subject,
            passkey.credentialId,
            Buffer.from(passkey.publicKey),
            passkey.signCount,
            [...passkey.transports],
            passkey.backedUp,
            passkey.label,
            now,
          ],
        );
        if (rows.length === 0) throw new DuplicateCredential();
        return { kind: 'registered' as const, passkey: toPasskey(hydrate(manager, PasskeyEntity, rows[0])) };
      });
    } catch (err) {
      if (err instanceof DuplicateCredential) return { kind: 'duplicate' };
      throw err;
    }
  }

  async list(subject: string): Promise<Passkey[]> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM passkeys WHERE subject = $1 ORDER BY created_at, id`, [subject]);
    return rows.map((row) => toPasskey(hydrate(this.dataSource, PasskeyEntity, row)));
  }

  async find(subject: string, credentialId: string): Promise<Passkey | null> {
    const rows = await queryRows(this.dataSource, `SELECT * FROM passkeys WHERE subject = $1 AND credential_id = $2`, [subject, credentialId]);
    return rows.length === 0 ? null : toPasskey(hydrate(this.dataSource, PasskeyEntity, rows[0]));
  }

  async recordUse(id: string, expectedSignCount: number, signCount: number, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE passkeys SET sign_count = $3, last_used_at = $4 WHERE id = $1 AND sign_count = $2 RETURNING id`,
      [id, expectedSignCount, signCount, now],
    );
    return rows.length === 1;
  }

  async revoke(subject: string, id: string): Promise<boolean> {
    const rows = await queryRows(this.dataSource, `DELETE FROM passkeys WHERE id = $1 AND subject = $2 RETURNING id`, [id, subject]);
    return rows.length === 1;
  }
}

function toPasskey(entity: PasskeyEntity): Passkey {
  return {
    id: entity.id,
    subject: entity.subject,
    credentialId: entity.credentialId,
    publicKey: new Uint8Array(entity.publicKey),
    signCount: Number(entity.signCount),
    transports: [...entity.transports],
    backedUp: entity.backedUp,
    label: entity.label,
    createdAt: entity.createdAt,
    lastUsedAt: entity.lastUsedAt,
  };
}
