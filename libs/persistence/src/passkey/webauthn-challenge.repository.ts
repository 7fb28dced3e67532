import type { WebAuthnCeremony, WebAuthnChallengeRecord, WebAuthnChallengeRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { queryRows } from '../sql.js';

export class TypeOrmWebAuthnChallengeRepository implements WebAuthnChallengeRepository {
  constructor(private readonly dataSource: DataSource) {}

  async issue(record: WebAuthnChallengeRecord, maxPerBinding: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await queryRows(manager, `DELETE FROM webauthn_challenges WHERE expires_at <= $1`, [record.createdAt]);
      await queryRows(
        manager,
        `INSERT INTO webauthn_challenges (challenge_hash, ceremony, binding_hash, subject, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [record.challengeHash, record.ceremony, record.bindingHash, record.subject, record.createdAt, record.expiresAt],
      );
      await queryRows(
        manager,
        `DELETE FROM webauthn_challenges
          WHERE binding_hash = $1
            AND challenge_hash NOT IN (SELECT challenge_hash FROM webauthn_challenges WHERE binding_hash = $1
                                        ORDER BY created_at DESC, challenge_hash LIMIT $2)`,
        [record.bindingHash, maxPerBinding],
      );
    });
  }

  /** Single use: the row is deleted by the one caller that gets it. */
  async consume(challengeHash: string, ceremony: WebAuthnCeremony, bindingHash: string, now: Date): Promise<string | null> {
    const rows = await queryRows<{ subject: string }>(
      this.dataSource,
      `DELETE FROM webauthn_challenges
        WHERE challenge_hash = $1 AND ceremony = $2 AND binding_hash = $3 AND expires_at > $4
        RETURNING subject`,
      [challengeHash, ceremony, bindingHash, now],
    );
    return rows[0]?.subject ?? null;
  }
}
