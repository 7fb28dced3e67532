import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The audit evidence record of one authentication request (migration 1700002300000), merged by the
 * audit service from the request's lifecycle events. `request_id` is text, not a foreign key: the
 * record outlives the request. No token, user code, secret or raw hint is ever stored here.
 */
@Entity({ name: 'audit_evidence_records' })
@Index('ix_audit_evidence_records_client_id_requested_at', ['clientId', 'requestedAt'])
@Index('ix_audit_evidence_records_subject_requested_at', ['subject', 'requestedAt'])
@Index('ix_audit_evidence_records_user_hint_hash', ['userHintHash'])
@Index('ix_audit_evidence_records_requested_at', ['requestedAt', 'requestId'])
// GIN (jsonb_path_ops), made by migration 1700002700000: the schema diff cannot express it.
@Index('ix_audit_evidence_records_access_token_jtis', { synchronize: false })
export class EvidenceRecordEntity {
  @PrimaryColumn({ name: 'request_id', type: 'text', primaryKeyConstraintName: 'pk_audit_evidence_records' })
  requestId!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'issuer', type: 'text', nullable: true })
  issuer!: string | null;

  @Column({ name: 'backchannel_endpoint', type: 'text', nullable: true })
  backchannelEndpoint!: string | null;

  @Column({ name: 'delivery_mode', type: 'text', nullable: true })
  deliveryMode!: string | null;

  @Column({ name: 'scope', type: 'jsonb', nullable: true })
  scope!: string[] | null;

  @Column({ name: 'acr_values', type: 'jsonb', nullable: true })
  acrValues!: string[] | null;

  @Column({ name: 'hint_type', type: 'text', nullable: true })
  hintType!: string | null;

  @Column({ name: 'user_hint_hash', type: 'text', nullable: true })
  userHintHash!: string | null;

  @Column({ name: 'binding_message', type: 'text', nullable: true })
  bindingMessage!: string | null;

  @Column({ name: 'authorization_details_types', type: 'jsonb', nullable: true })
  authorizationDetailsTypes!: string[] | null;

  @Column({ name: 'requested_at', type: 'timestamptz', nullable: true })
  requestedAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  @Column({ name: 'expires_in', type: 'integer', nullable: true })
  expiresIn!: number | null;

  @Column({ name: 'interval', type: 'integer', nullable: true })
  interval!: number | null;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;

  @Column({ name: 'channels', type: 'jsonb', default: () => `'[]'` })
  channels!: unknown[];

  @Column({ name: 'callbacks', type: 'jsonb', default: () => `'[]'` })
  callbacks!: unknown[];

  @Column({ name: 'callback_attempts', type: 'jsonb', default: () => `'[]'` })
  callbackAttempts!: unknown[];

  @Column({ name: 'decision', type: 'text', nullable: true })
  decision!: string | null;

  @Column({ name: 'decided_at', type: 'timestamptz', nullable: true })
  decidedAt!: Date | null;

  @Column({ name: 'denial_reason', type: 'text', nullable: true })
  denialReason!: string | null;

  @Column({ name: 'denial_limit', type: 'text', nullable: true })
  denialLimit!: string | null;

  @Column({ name: 'acr', type: 'text', nullable: true })
  acr!: string | null;

  @Column({ name: 'amr', type: 'jsonb', nullable: true })
  amr!: string[] | null;

  @Column({ name: 'tokens_issued', type: 'jsonb', nullable: true })
  tokensIssued!: string[] | null;

  @Column({ name: 'redeemed_at', type: 'timestamptz', nullable: true })
  redeemedAt!: Date | null;

  @Column({ name: 'token_outcome', type: 'text', nullable: true })
  tokenOutcome!: string | null;

  /** The `jti` of every access token of the request (identifiers, never tokens). */
  @Column({ name: 'access_token_jtis', type: 'jsonb', default: () => `'[]'` })
  accessTokenJtis!: string[];

  @Column({ name: 'downstream', type: 'jsonb', nullable: true })
  downstream!: Record<string, unknown> | null;

  @Column({ name: 'event_ids', type: 'jsonb', default: () => `'[]'` })
  eventIds!: string[];

  /** Bumped by every write: a merge writes only over the revision it read. */
  @Column({ name: 'revision', type: 'integer', default: 0 })
  revision!: number;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
