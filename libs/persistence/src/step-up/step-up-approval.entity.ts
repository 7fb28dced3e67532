import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A step-up approval of the CIBA gateway (migration 1700002800000): one CIBA request the gateway
 * started for a user, a route policy and (when the route asks for it) a request fingerprint, all
 * three folded into `binding_key`, so an approval is never found for another action or user. The
 * auth_req_id and the access token received are sealed with the gateway's key-encryption key (the
 * row id is the associated data); the subject token and the user's identifier are not stored.
 */
@Entity({ name: 'step_up_approvals' })
// Partial indexes, made by the migration: the schema diff cannot express their predicates.
@Index('ux_step_up_approvals_live_binding', { synchronize: false })
@Index('ix_step_up_approvals_due', { synchronize: false })
@Index('ix_step_up_approvals_binding_key_created_at', ['bindingKey', 'createdAt'])
export class StepUpApprovalEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'pk_step_up_approvals' })
  id!: string;

  @Column({ name: 'binding_key', type: 'text' })
  bindingKey!: string;

  @Column({ name: 'route_id', type: 'text' })
  routeId!: string;

  /** pending, approved, denied, expired or consumed. */
  @Column({ name: 'status', type: 'text' })
  status!: string;

  /** `once` (consumed by the first forwarded request) or `ttl` (reusable until `approved_until`). */
  @Column({ name: 'reuse', type: 'text' })
  reuse!: string;

  /** Null while the gateway is still sending the backchannel request. */
  @Column({ name: 'auth_req_id_sealed', type: 'text', nullable: true })
  authReqIdSealed!: string | null;

  @Column({ name: 'poll_interval', type: 'integer' })
  pollInterval!: number;

  @Column({ name: 'next_poll_at', type: 'timestamptz' })
  nextPollAt!: Date;

  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner!: string | null;

  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil!: Date | null;

  @Column({ name: 'request_expires_at', type: 'timestamptz' })
  requestExpiresAt!: Date;

  @Column({ name: 'access_token_sealed', type: 'text', nullable: true })
  accessTokenSealed!: string | null;

  /** The new access token's `jti`, when it is a JWT: what the audit reports name. */
  @Column({ name: 'access_token_jti', type: 'text', nullable: true })
  accessTokenJti!: string | null;

  @Column({ name: 'approved_until', type: 'timestamptz', nullable: true })
  approvedUntil!: Date | null;

  /** The provider's error (access_denied, …) and its description, for a denied approval. */
  @Column({ name: 'denial_reason', type: 'text', nullable: true })
  denialReason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
