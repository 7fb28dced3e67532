import type { DecisionTokenRecord } from '@ciba/domain';
import type { DecisionTokenEntity } from './decision-token.entity.js';

export function toDecisionToken(entity: DecisionTokenEntity): DecisionTokenRecord {
  return {
    tokenHash: entity.tokenHash,
    requestId: entity.requestId,
    channel: entity.channel,
    expiresAt: entity.expiresAt,
    usedAt: entity.usedAt,
  };
}
