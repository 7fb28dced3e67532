import { type AuthRequest, type AuthRequestStatus, type HintType, DENIAL_REASONS, PROMPT_LIMIT_KINDS } from '@ciba/domain';
import { TOKEN_DELIVERY_MODES } from '@ciba/protocol';
import { oneOf } from '../mapping.js';
import type { AuthRequestEntity } from './auth-request.entity.js';

const STATUSES: readonly AuthRequestStatus[] = ['pending', 'approved', 'denied', 'expired', 'redeemed'];
const HINT_TYPES: readonly HintType[] = ['login_hint', 'id_token_hint', 'login_hint_token'];

export function toAuthRequest(entity: AuthRequestEntity): AuthRequest {
  return {
    id: entity.id,
    clientId: entity.clientId,
    subject: entity.subject,
    scope: [...entity.scope],
    acrValues: [...entity.acrValues],
    bindingMessage: entity.bindingMessage,
    authorizationDetails: entity.authorizationDetails,
    hintType: oneOf(entity.hintType, HINT_TYPES, 'auth_requests.hint_type'),
    deliveryMode: oneOf(entity.deliveryMode, TOKEN_DELIVERY_MODES, 'auth_requests.delivery_mode'),
    sealedClientNotificationToken: entity.sealedClientNotificationToken,
    status: oneOf(entity.status, STATUSES, 'auth_requests.status'),
    createdAt: entity.createdAt,
    expiresAt: entity.expiresAt,
    interval: entity.interval,
    lastPolledAt: entity.lastPolledAt,
    decidedAt: entity.decidedAt,
    denialReason: entity.denialReason === null ? null : oneOf(entity.denialReason, DENIAL_REASONS, 'auth_requests.denial_reason'),
    denialLimit: entity.denialLimit === null ? null : oneOf(entity.denialLimit, PROMPT_LIMIT_KINDS, 'auth_requests.denial_limit'),
    redeemedAt: entity.redeemedAt,
    notifiedAt: entity.notifiedAt,
    correlationId: entity.correlationId,
    traceContext: entity.traceContext,
    acr: entity.acr,
    amr: [...entity.amr],
  };
}

export function fromAuthRequest(request: AuthRequest): Omit<AuthRequestEntity, 'client'> {
  return {
    id: request.id,
    clientId: request.clientId,
    subject: request.subject,
    scope: [...request.scope],
    acrValues: [...request.acrValues],
    bindingMessage: request.bindingMessage,
    authorizationDetails: request.authorizationDetails === null ? null : request.authorizationDetails.map((d) => ({ ...d })),
    hintType: request.hintType,
    deliveryMode: request.deliveryMode,
    sealedClientNotificationToken: request.sealedClientNotificationToken,
    status: request.status,
    createdAt: request.createdAt,
    expiresAt: request.expiresAt,
    interval: request.interval,
    lastPolledAt: request.lastPolledAt,
    decidedAt: request.decidedAt,
    denialReason: request.denialReason,
    denialLimit: request.denialLimit,
    redeemedAt: request.redeemedAt,
    notifiedAt: request.notifiedAt,
    correlationId: request.correlationId,
    traceContext: request.traceContext,
    acr: request.acr,
    amr: [...request.amr],
  };
}
