import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Failed client authentications per key (a hashed client id or source address) in one fixed window.
 * Rows past `expires_at` are dropped as new failures are recorded.
 */
@Entity({ name: 'client_auth_failures' })
@Index('ix_client_auth_failures_expires_at', ['expiresAt'])
export class ClientAuthFailureEntity {
  @PrimaryColumn({ name: 'key_hash', type: 'text', primaryKeyConstraintName: 'pk_client_auth_failures' })
  keyHash!: string;

  @PrimaryColumn({ name: 'window_start', type: 'timestamptz', primaryKeyConstraintName: 'pk_client_auth_failures' })
  windowStart!: Date;

  @Column({ name: 'failures', type: 'integer' })
  failures!: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
