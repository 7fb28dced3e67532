import { randomUUID } from 'node:crypto';
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { CibaProtocolError, type PollResult } from '@ciba/client';
import type { StepUpApproval, TypeOrmStepUpApprovalRepository } from '@ciba/persistence';
import type { KeyEncryptor } from '@ciba/tokens';
import type { CibaProviders } from './ciba-providers.js';
import type { Policy } from './policy/policy.js';

/** How long a replica holds a claimed approval; a replica that died mid-poll frees it after this. */
const LEASE_MS = 30_000;
/** Approvals polled per tick and replica. */
const BATCH = 50;
/** After an error talking to the provider, wait this long before the next poll. */
const ERROR_BACKOFF_SECONDS = 10;

/**
 * Polls the provider's token endpoint for the pending approvals in the background, in every
 * replica: each tick leases the due ones (so two replicas never poll the same request at once,
 * and a request left by a stopped replica is taken up by another, or by this one after a restart),
 * polls each once, and records the outcome. The interval, and `slow_down`, are the provider's.
 */
export class ApprovalPoller implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ApprovalPoller');
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly policy: Policy,
    private readonly approvals: TypeOrmStepUpApprovalRepository,
    private readonly providers: CibaProviders,
    private readonly sealer: KeyEncryptor,
    private readonly tickMs: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((err: unknown) => this.logger.warn({ err }, 'step-up poll tick failed'))
        .finally(() => (this.running = null));
    }, this.tickMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: poll every approval due now. */
  async tick(): Promise<void> {
    const now = this.now();
    const due = await this.approvals.claimDue(this.owner, now, new Date(now.getTime() + LEASE_MS), BATCH);
    await Promise.all(due.map((approval) => this.pollOne(approval)));
  }

  private async pollOne(approval: StepUpApproval): Promise<void> {
    const route = this.policy.routes.find((r) => r.id === approval.routeId);
    if (!route || approval.authReqIdSealed === null) {
      // The route left the policy since: nothing can be forwarded for it any more.
      await this.approvals.end(approval.id, this.owner, 'expired', null, this.now());
      return;
    }
    if (approval.requestExpiresAt <= this.now()) {
      // The provider has let the request lapse too: nothing more will come of polling it.
      await this.approvals.end(approval.id, this.owner, 'expired', null, this.now());
      return;
    }
    let result: PollResult;
    try {
      const authReqId = this.sealer.decrypt(approval.authReqIdSealed, `${approval.id}:auth_req_id`);
      result = await this.providers.poll(route.provider, authReqId, approval.pollInterval);
    } catch (err) {
      if (err instanceof CibaProtocolError && err.error === 'invalid_grant') {
        // The provider no longer knows the request (RFC 6749 §5.2): it cannot be approved any more.
        await this.approvals.end(approval.id, this.owner, 'expired', err.error, this.now());
        return;
      }
      this.logger.warn({ err, approval: approval.id }, 'step-up poll failed; trying again later');
      const now = this.now();
      await this.approvals.reschedule(approval.id, this.owner, approval.pollInterval, new Date(now.getTime() + ERROR_BACKOFF_SECONDS * 1000), now);
      return;
    }
    const now = this.now();
    switch (result.status) {
      case 'pending':
      case 'slow_down': {
        const interval = result.status === 'slow_down' ? result.interval : approval.pollInterval;
        await this.approvals.reschedule(approval.id, this.owner, interval, new Date(now.getTime() + interval * 1000), now);
        return;
      }
      case 'denied':
        await this.approvals.end(approval.id, this.owner, 'denied', result.description ? `${result.error}: ${result.description}` : result.error, now);
        this.logger.log({ approval: approval.id, route: route.id }, 'step-up denied');
        return;
      case 'expired':
        await this.approvals.end(approval.id, this.owner, 'expired', null, now);
        return;
      case 'approved': {
        const accessToken = result.tokens.access_token;
        const lifetime = typeof result.tokens.expires_in === 'number' && result.tokens.expires_in > 0 ? result.tokens.expires_in : 300;
        const reuseFor = route.reuse === 'once' ? lifetime : Math.min(route.reuse.ttl, lifetime);
        await this.approvals.approve(
          approval.id,
          this.owner,
          this.sealer.encrypt(accessToken, `${approval.id}:access_token`),
          jtiOf(accessToken),
          new Date(now.getTime() + reuseFor * 1000),
          now,
        );
        this.logger.log({ approval: approval.id, route: route.id }, 'step-up approved');
        return;
      }
    }
  }
}

/** The `jti` of a JWT access token (what the audit reports name), or null for an opaque one. */
function jtiOf(accessToken: string): string | null {
  try {
    const jti = decodeJwt(accessToken).jti;
    return typeof jti === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(jti) ? jti : null;
  } catch {
    return null;
  }
}
