import type { DecisionTokenRecord, TokenDecision } from '@ciba/domain';
import { oneOf } from '../mapping.js';
import type { DecisionTokenEntity } from './decision-token.entity.js';

const DECISIONS: readonly TokenDecision[] = ['approved', 'denied'];

export function toDecisionToken(entity: DecisionTokenEntity): DecisionTokenRecord {
  return {
    tokenHash: entity.tokenHash,
    requestId: entity.requestId,
    channel: entity.channel,
    expiresAt: entity.expiresAt,
    usedAt: entity.usedAt,
    decision: entity.decision === null ? null : oneOf(entity.decision, DECISIONS, 'decision_tokens.decision'),
  };
}
