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

  /** Stores the link's token and returns the link. */
  async issue(request: AuthRequest): Promise<string> {
    await this.decisionTokens.save({ tokenHash: this.tokenHash(request.id), requestId: request.id, channel: APPROVAL_LINK_CHANNEL, expiresAt: request.expiresAt });
    return this.linkFor(request.id);
  }

  /** The hash to store for the request's link (the notifier stores it when it claims the request). */
  tokenHash(requestId: string): string {
    return DecisionTokens.hash(this.tokens.tokenFor(requestId, APPROVAL_LINK_CHANNEL));
  }

  /** The link, without storing its token: for a request whose token is stored already. */
  linkFor(requestId: string): string {
    return `${this.config.publicUrls.notifier}/approve/${this.tokens.tokenFor(requestId, APPROVAL_LINK_CHANNEL)}`;
  }
}
