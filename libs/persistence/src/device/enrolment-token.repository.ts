import type { EnrolmentLinkState, EnrolmentTokenRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

export class TypeOrmEnrolmentTokenRepository implements EnrolmentTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async save(record: { tokenHash: string; subject: string; sentVia: string; expiresAt: Date }): Promise<void> {
    await queryRows(
      this.dataSource,
      `INSERT INTO enrolment_tokens (token_hash, subject, sent_via, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING`,
      [record.tokenHash, record.subject, record.sentVia, record.expiresAt],
    );
  }

  async peek(tokenHash: string, now: Date): Promise<string | null> {
    const rows = await queryRows<{ subject: string }>(
      this.dataSource,
      `SELECT subject FROM enrolment_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`,
      [tokenHash, now],
    );
    return rows[0]?.subject ?? null;
  }

  /** Single use: of concurrent callers exactly one gets the subject. */
  async consume(tokenHash: string, now: Date): Promise<string | null> {
    const rows = await queryRows<{ subject: string }>(
      this.dataSource,
      `UPDATE enrolment_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING subject`,
      [tokenHash, now],
    );
    return rows[0]?.subject ?? null;
  }

  async inspect(tokenHash: string, now: Date): Promise<EnrolmentLinkState | null> {
    const rows = await queryRows<{ subject: string; device_open: boolean; passkey_open: boolean }>(
      this.dataSource,
      `SELECT subject, used_at IS NULL AS device_open, passkey_registered_at IS NULL AS passkey_open
         FROM enrolment_tokens WHERE token_hash = $1 AND expires_at > $2`,
      [tokenHash, now],
    );
    const row = rows[0];
    if (!row || (!row.device_open && !row.passkey_open)) return null;
    return { subject: row.subject, deviceOpen: row.device_open, passkeyOpen: row.passkey_open };
  }
}
