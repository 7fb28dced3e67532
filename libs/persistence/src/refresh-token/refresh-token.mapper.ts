import type { RefreshTokenRecord } from '@ciba/domain';
import type { RefreshTokenEntity } from './refresh-token.entity.js';

export function toRefreshToken(entity: RefreshTokenEntity): RefreshTokenRecord {
  return {
    tokenHash: entity.tokenHash,
    clientId: entity.clientId,
    subject: entity.subject,
    scope: [...entity.scope],
    authTime: entity.authTime,
    acr: entity.acr,
    amr: [...entity.amr],
    expiresAt: entity.expiresAt,
    requestId: entity.requestId,
    authorizationDetails: entity.authorizationDetails,
    issuedAt: entity.createdAt,
  };
}
