import type { DataSource } from 'typeorm';
import { hydrate, queryRows } from '../sql.js';
import { StepUpApprovalEntity } from './step-up-approval.entity.js';

export type StepUpApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'consumed';
export type StepUpReuse = 'once' | 'ttl';

export interface StepUpApproval {
  readonly id: string;
  readonly bindingKey: string;
  readonly routeId: string;
  readonly status: StepUpApprovalStatus;
  readonly reuse: StepUpReuse;
  readonly authReqIdSealed: string | null;
  readonly pollInterval: number;
  readonly nextPollAt: Date;
  readonly requestExpiresAt: Date;
  readonly accessTokenSealed: string | null;
  readonly accessTokenJti: string | null;
  readonly approvedUntil: Date | null;
  readonly denialReason: string | null;
  readonly createdAt: Date;
}

export interface NewStepUpApproval {
  readonly id: string;
  readonly bindingKey: string;
  readonly routeId: string;
  readonly reuse: StepUpReuse;
  readonly createdAt: Date;
  /** How long the gateway may take to send the backchannel request before the row counts as abandoned. */
  readonly startDeadline: Date;
}

const STATUSES: readonly StepUpApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'consumed'];

/**
 * The step-up gateway's approvals (table `step_up_approvals`). Every state change is one
 * conditional statement, so replicas sharing the table never both act on the same row: a pending
 * row is polled by the replica holding its lease, an approved `once` row is consumed by exactly one
 * request.
 */
export class TypeOrmStepUpApprovalRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(id: string): Promise<StepUpApproval | null> {
    return this.first(await queryRows(this.dataSource, 'SELECT * FROM step_up_approvals WHERE id = $1', [id]));
  }

  /** The binding's live approval (pending or approved), else its most recent ended one. */
  async current(bindingKey: string, now: Date): Promise<StepUpApproval | null> {
    await this.endOverdue(bindingKey, now);
    return this.first(
      await queryRows(
        this.dataSource,
        `SELECT * FROM step_up_approvals WHERE binding_key = $1
         ORDER BY (status IN ('pending', 'approved')) DESC, created_at DESC LIMIT 1`,
        [bindingKey],
      ),
    );
  }

  /**
   * Opens a pending approval for the binding unless one is live. `created` tells whether this call
   * made it (and so must send the backchannel request); otherwise the live one is returned.
   */
  async open(approval: NewStepUpApproval): Promise<{ approval: StepUpApproval; created: boolean }> {
    const a = approval;
    await this.endOverdue(a.bindingKey, a.createdAt);
    const rows = await queryRows(
      this.dataSource,
      `INSERT INTO step_up_approvals (id, binding_key, route_id, status, reuse, poll_interval, next_poll_at, request_expires_at, created_at, updated_at)
       VALUES ($1, $2, $3, 'pending', $4, 5, $5, $5, $6, $6)
       ON CONFLICT (binding_key) WHERE status IN ('pending', 'approved') DO NOTHING
       RETURNING *`,
      [a.id, a.bindingKey, a.routeId, a.reuse, a.startDeadline, a.createdAt],
    );
    const created = this.first(rows);
    if (created) return { approval: created, created: true };
    const live = await this.current(a.bindingKey, a.createdAt);
    if (!live) throw new Error('step-up approval: no live approval after a conflicting insert');
    return { approval: live, created: false };
  }

  /** Records the backchannel request sent for a pending approval opened by `open`. */
  async started(id: string, authReqIdSealed: string, interval: number, requestExpiresAt: Date, nextPollAt: Date, now: Date): Promise<void> {
    await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET auth_req_id_sealed = $2, poll_interval = $3, request_expires_at = $4, next_poll_at = $5, updated_at = $6
       WHERE id = $1 AND status = 'pending'`,
      [id, authReqIdSealed, interval, requestExpiresAt, nextPollAt, now],
    );
  }

  /** Drops a pending approval whose backchannel request could not be sent, so the next request tries again. */
  async abandon(id: string): Promise<void> {
    await queryRows(this.dataSource, `DELETE FROM step_up_approvals WHERE id = $1 AND status = 'pending' AND auth_req_id_sealed IS NULL`, [id]);
  }

  /**
   * Leases up to `limit` pending approvals due for a poll to `owner` until `leaseUntil`. Rows
   * another replica holds (an unexpired lease) or is locking right now are skipped.
   */
  async claimDue(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<StepUpApproval[]> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET lease_owner = $1, lease_until = $3, updated_at = $2
       WHERE id IN (
         SELECT id FROM step_up_approvals
         WHERE status = 'pending' AND auth_req_id_sealed IS NOT NULL AND next_poll_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)
         ORDER BY next_poll_at LIMIT $4
         FOR UPDATE SKIP LOCKED
       )
       RETURNING *`,
      [owner, now, leaseUntil, limit],
    );
    return rows.map((row) => this.toApproval(row));
  }

  /** Still pending: next poll at `nextPollAt` (after `slow_down`, with the longer interval). */
  async reschedule(id: string, owner: string, interval: number, nextPollAt: Date, now: Date): Promise<void> {
    await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET poll_interval = $3, next_poll_at = $4, lease_owner = NULL, lease_until = NULL, updated_at = $5
       WHERE id = $1 AND lease_owner = $2 AND status = 'pending'`,
      [id, owner, interval, nextPollAt, now],
    );
  }

  async approve(id: string, owner: string, accessTokenSealed: string, accessTokenJti: string | null, approvedUntil: Date, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET status = 'approved', access_token_sealed = $3, access_token_jti = $4, approved_until = $5,
         lease_owner = NULL, lease_until = NULL, updated_at = $6
       WHERE id = $1 AND lease_owner = $2 AND status = 'pending'
       RETURNING id`,
      [id, owner, accessTokenSealed, accessTokenJti, approvedUntil, now],
    );
    return rows.length === 1;
  }

  /** Ends a pending approval: the user denied it (with the provider's reason) or it expired. */
  async end(id: string, owner: string, status: 'denied' | 'expired', reason: string | null, now: Date): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET status = $3, denial_reason = $4, lease_owner = NULL, lease_until = NULL, updated_at = $5
       WHERE id = $1 AND lease_owner = $2 AND status = 'pending'
       RETURNING id`,
      [id, owner, status, reason, now],
    );
    return rows.length === 1;
  }

  /**
   * Uses an approved `once` approval: exactly one caller gets the row back, across replicas; a
   * `ttl` approval is returned unchanged while it lasts.
   */
  async use(id: string, now: Date): Promise<StepUpApproval | null> {
    return this.first(
      await queryRows(
        this.dataSource,
        `UPDATE step_up_approvals SET status = CASE WHEN reuse = 'once' THEN 'consumed' ELSE status END, updated_at = $2
         WHERE id = $1 AND status = 'approved' AND approved_until > $2
         RETURNING *`,
        [id, now],
      ),
    );
  }

  /**
   * Ends the binding's live approvals that ran out: an approval past its reuse time, a pending one
   * past its request's expiry, or one whose backchannel request was never recorded as sent.
   */
  private async endOverdue(bindingKey: string, now: Date): Promise<void> {
    await queryRows(
      this.dataSource,
      `UPDATE step_up_approvals SET status = 'expired', lease_owner = NULL, lease_until = NULL, updated_at = $2
       WHERE binding_key = $1 AND (
         (status = 'approved' AND approved_until <= $2) OR (status = 'pending' AND request_expires_at <= $2)
       )`,
      [bindingKey, now],
    );
  }

  private first(rows: readonly Record<string, unknown>[]): StepUpApproval | null {
    return rows.length > 0 ? this.toApproval(rows[0]) : null;
  }

  private toApproval(row: Record<string, unknown>): StepUpApproval {
    const e = hydrate(this.dataSource, StepUpApprovalEntity, row);
    const status = STATUSES.find((s) => s === e.status);
    if (!status) throw new Error(`step-up approval ${e.id} has an unknown status`);
    return {
      id: e.id,
      bindingKey: e.bindingKey,
      routeId: e.routeId,
      status,
      reuse: e.reuse === 'once' ? 'once' : 'ttl',
      authReqIdSealed: e.authReqIdSealed,
      pollInterval: e.pollInterval,
      nextPollAt: e.nextPollAt,
      requestExpiresAt: e.requestExpiresAt,
      accessTokenSealed: e.accessTokenSealed,
      accessTokenJti: e.accessTokenJti,
      approvedUntil: e.approvedUntil,
      denialReason: e.denialReason,
      createdAt: e.createdAt,
    };
  }
}
