import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The request each access token was issued for, by the token's `jti` (migration 1700002700000):
 * written by the statement that issues the token, read by the audit service's downstream reports,
 * and by introspection and UserInfo for its revocation.
 * Never the token itself.
 */
@Entity({ name: 'access_token_jtis' })
@Index('ix_access_token_jtis_request_id', ['requestId'])
export class AccessTokenJtiEntity {
  @PrimaryColumn({ name: 'jti', type: 'text', primaryKeyConstraintName: 'pk_access_token_jtis' })
  jti!: string;

  @Column({ name: 'request_id', type: 'uuid' })
  requestId!: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId!: string;

  @Column({ name: 'issued_at', type: 'timestamptz' })
  issuedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  /** When the token was revoked, alone or with its grant (migration 1700003000000). */
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
