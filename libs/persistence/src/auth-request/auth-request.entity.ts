import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { ClientEntity } from '../client/client.entity.js';

/**
 * CIBA authentication request (CIBA §7–§11). The client's handle (auth_req_id) is a MAC'd reference
 * to `id` and is not stored; the client notification token is stored sealed.
 */
@Entity({ name: 'auth_requests' })
@Index('ix_auth_requests_client_id', ['clientId'])
// The sweeper: pending requests past expiry.
@Index('ix_auth_requests_status_expires_at', ['status', 'expiresAt'])
// The re-notifier: pending requests whose device was never notified.
@Index('ix_auth_requests_status_notified_at_created_at', ['status', 'notifiedAt', 'createdAt'])
// The outbox scan: settled requests whose outcome event is not confirmed published (migration-defined partial index).
@Index('ix_auth_requests_outcome_unpublished', { synchronize: false })
// The denial back-off: the user's own recent denials of one client (migration-defined partial index).
@Index('ix_auth_requests_user_denials', { synchronize: false })
@Check('ck_auth_requests_status', `status IN ('pending', 'approved', 'denied', 'expired', 'redeemed')`)
@Check('ck_auth_requests_delivery_mode', `delivery_mode IN ('poll', 'ping', 'push')`)
@Check('ck_auth_requests_hint_type', `hint_type IN ('login_hint', 'id_token_hint', 'login_hint_token')`)
@Check('ck_auth_requests_denial_reason', `denial_reason IN ('UNAUTHORIZED', 'CANCELLED', 'RATE_LIMITED', 'UNREACHABLE')`)
@Check('ck_auth_requests_denial_limit', `denial_limit IN ('client_user', 'client', 'denial_backoff')`)
@Check('ck_auth_requests_interval', `"interval" > 0`)
export class AuthRequestEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'pk_auth_requests' })
  id!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'client_id', referencedColumnName: 'clientId', foreignKeyConstraintName: 'fk_auth_requests_client' })
  client?: Relation<ClientEntity>;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'scope', type: 'text', array: true })
  scope!: string[];

  @Column({ name: 'acr_values', type: 'text', array: true })
  acrValues!: string[];

  @Column({ name: 'binding_message', type: 'text', nullable: true })
  bindingMessage!: string | null;

  /** RFC 9396 authorization details, as the client sent them (validated). */
  @Column({ name: 'authorization_details', type: 'jsonb', nullable: true })
  authorizationDetails!: Record<string, unknown>[] | null;

  @Column({ name: 'hint_type', type: 'text' })
  hintType!: string;

  @Column({ name: 'delivery_mode', type: 'text' })
  deliveryMode!: string;

  /** AES-256-GCM under the key-encryption key, bound to `id`; opened only to send a callback. */
  @Column({ name: 'sealed_client_notification_token', type: 'text', nullable: true })
  sealedClientNotificationToken!: string | null;

  @Column({ name: 'status', type: 'text' })
  status!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'interval', type: 'integer' })
  interval!: number;

  @Column({ name: 'last_polled_at', type: 'timestamptz', nullable: true })
  lastPolledAt!: Date | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ name: 'denial_reason', type: 'text', nullable: true })
  denialReason!: string | null;

  /** With RATE_LIMITED: the prompt limit that refused the request. */
  @Column({ name: 'denial_limit', type: 'text', nullable: true })
  denialLimit!: string | null;

  @Column({ name: 'redeemed_at', type: 'timestamptz', nullable: true })
  redeemedAt!: Date | null;

  @Column({ name: 'notified_at', type: 'timestamptz', nullable: true })
  notifiedAt!: Date | null;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;

  /** The W3C traceparent of the flow's first request (tracing on). */
  @Column({ name: 'trace_context', type: 'text', nullable: true })
  traceContext!: string | null;

  /** The ACR a passkey step-up satisfied at approval; null without one. */
  @Column({ name: 'acr', type: 'text', nullable: true })
  acr!: string | null;

  /** RFC 8176 methods of that step-up. */
  @Column({ name: 'amr', type: 'text', array: true, default: () => "'{}'" })
  amr!: string[];

  /**
   * When the outcome event (approved, denied or expired) was confirmed on the bus; null until then.
   * Optional: persistence bookkeeping (the outbox marker), not part of the domain's request.
   */
  @Column({ name: 'outcome_published_at', type: 'timestamptz', nullable: true })
  outcomePublishedAt?: Date | null;
}
