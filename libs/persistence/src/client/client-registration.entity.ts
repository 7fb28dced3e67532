import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import type { Relation } from 'typeorm';
import { ClientEntity } from './client.entity.js';

/**
 * The registration of a client registered at the registration endpoint (RFC 7591 / 7592). A client
 * with a row here came from registration; one without came from the bootstrap file, which never
 * touches these rows (nor deletes a registered client). Deleting the client deletes its row.
 */
@Entity({ name: 'client_registrations' })
export class ClientRegistrationEntity {
  @PrimaryColumn({ name: 'client_id', type: 'text', primaryKeyConstraintName: 'pk_client_registrations' })
  clientId!: string;

  @ManyToOne(() => ClientEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'client_id', referencedColumnName: 'clientId', foreignKeyConstraintName: 'fk_client_registrations_client' })
  client?: Relation<ClientEntity>;

  /** SHA-256 (base64url) of the registration access token (a random 256-bit value): a digest suffices. */
  @Column({ name: 'registration_access_token_hash', type: 'text' })
  registrationAccessTokenHash!: string;

  @Column({ name: 'client_id_issued_at', type: 'timestamptz' })
  clientIdIssuedAt!: Date;

  /** The metadata as registered, RFC 7591 names with defaults filled in; never the client secret. */
  @Column({ name: 'metadata', type: 'jsonb' })
  metadata!: Record<string, unknown>;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
