import { Inject, Injectable } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { AuthRequest, DecisionTokenRepository } from '@ciba/domain';
import { DECISION_TOKEN_REPOSITORY, PROVIDER_CONFIG } from '@ciba/platform';
import { DecisionTokens } from '../decision-tokens.js';

/** The decision-token channel of approval links (email, SMS and device-push messages carry one). */
export const APPROVAL_LINK_CHANNEL = 'approval-link';

/**
 * Approval links are decision tokens on their own channel: HMAC-derived, so a resent message
 * carries the same link; stored hashed, single use, expiring with the request. The URL never
 * carries the auth_req_id.
 */
@Injectable()
export class ApprovalLinks {
  constructor(
    private readonly tokens: DecisionTokens,
    @Inject(DECISION_TOKEN_REPOSITORY) private readonly decisionTokens: DecisionTokenRepository,
    @Inject(PROVIDER_CONFIG) private readonly config: ProviderConfig,
  ) {}

  async issue(request: AuthRequest): Promise<string> {
    const token = this.tokens.tokenFor(request.id, APPROVAL_LINK_CHANNEL);
    await this.decisionTokens.save({ tokenHash: DecisionTokens.hash(token), requestId: request.id, channel: APPROVAL_LINK_CHANNEL, expiresAt: request.expiresAt });
    return `${this.config.publicUrls.notifier}/approve/${token}`;
  }
}
