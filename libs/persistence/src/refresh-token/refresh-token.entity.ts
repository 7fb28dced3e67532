import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Refresh tokens by hash. A rotated token keeps its row with `used_at` and `replaced_by` set, so a
 * replay is recognised; `revoked_at` is set on every token of a grant when one was replayed.
 */
@Entity({ name: 'refresh_tokens' })
@Index('ix_refresh_tokens_request_id', ['requestId'])
export class RefreshTokenEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'text', primaryKeyConstraintName: 'pk_refresh_tokens' })
  tokenHash!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'scope', type: 'text', array: true })
  scope!: string[];

  @Column({ name: 'auth_time', type: 'timestamptz' })
  authTime!: Date;

  @Column({ name: 'acr', type: 'text', nullable: true })
  acr!: string | null;

  /** RFC 8176 methods of the original authentication. */
  @Column({ name: 'amr', type: 'text', array: true, default: () => "'{}'" })
  amr!: string[];

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  /** RFC 9396 details granted with the request; every access token refreshed from this token carries them. */
  @Column({ name: 'authorization_details', type: 'jsonb', nullable: true })
  authorizationDetails!: Record<string, unknown>[] | null;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  @Column({ name: 'replaced_by', type: 'text', nullable: true })
  replacedBy!: string | null;

  /** RFC 9700 §4.14.2: the grant's family was revoked because a used token was presented again. */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
