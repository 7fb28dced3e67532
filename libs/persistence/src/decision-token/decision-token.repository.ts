import type { DecisionTokenRecord, DecisionTokenRepository } from '@ciba/domain';
import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { DecisionTokenEntity } from './decision-token.entity.js';
import { toDecisionToken } from './decision-token.mapper.js';

export class TypeOrmDecisionTokenRepository implements DecisionTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  async save(record: Omit<DecisionTokenRecord, 'usedAt'>): Promise<void> {
    await queryRows(this.dataSource, 
      `INSERT INTO decision_tokens (token_hash, request_id, channel, expires_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (token_hash) DO NOTHING`,
      [record.tokenHash, record.requestId, record.channel, record.expiresAt],
    );
  }

  /** Single use: of concurrent callers exactly one gets the record. */
  async consume(tokenHash: string, now: Date): Promise<DecisionTokenRecord | null> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE decision_tokens SET used_at = $2
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
        RETURNING *`,
      [tokenHash, now],
    );
    return rows.length === 0 ? null : toDecisionToken(hydrate(this.dataSource, DecisionTokenEntity, rows[0]));
  }

  async find(tokenHash: string): Promise<DecisionTokenRecord | null> {
    const rows = await queryRows(this.dataSource, 'SELECT * FROM decision_tokens WHERE token_hash = $1', [tokenHash]);
    return rows.length === 0 ? null : toDecisionToken(hydrate(this.dataSource, DecisionTokenEntity, rows[0]));
  }
}
