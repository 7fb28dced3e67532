import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A signing key; the private JWK is stored encrypted by the tokens lib, never in clear. */
@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  @PrimaryColumn({ name: 'kid', type: 'text', primaryKeyConstraintName: 'pk_signing_keys' })
  kid!: string;

  @Column({ name: 'alg', type: 'text' })
  alg!: string;

  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk!: Record<string, unknown>;

  @Column({ name: 'encrypted_private_jwk', type: 'text' })
  encryptedPrivateJwk!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;

  @Column({ name: 'unpublish_after', type: 'timestamptz', nullable: true })
  unpublishAfter!: Date | null;
}
