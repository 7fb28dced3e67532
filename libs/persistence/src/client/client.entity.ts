import { Check, Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A registered client (RFC 7591 / CIBA registration metadata). Only the secret's hash is stored, and for client_secret_jwt the secret sealed. */
@Entity({ name: 'clients' })
@Check('ck_clients_token_delivery_mode', `backchannel_token_delivery_mode IN ('poll', 'ping', 'push')`)
@Check('ck_clients_subject_type', `subject_type IN ('public', 'pairwise')`)
@Check(
  'ck_clients_tls_client_auth_one_subject',
  `num_nonnulls(tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip, tls_client_auth_san_email) <= 1`,
)
export class ClientEntity {
  @PrimaryColumn({ name: 'client_id', type: 'text', primaryKeyConstraintName: 'pk_clients' })
  clientId!: string;

  @Column({ name: 'client_name', type: 'text' })
  clientName!: string;

  @Column({ name: 'client_secret_hash', type: 'text' })
  clientSecretHash!: string;

  @Column({ name: 'token_endpoint_auth_method', type: 'text' })
  tokenEndpointAuthMethod!: string;

  /** client_secret_jwt only: the secret sealed with the key encryption key (an HMAC needs the secret itself). */
  @Column({ name: 'client_secret_sealed', type: 'text', nullable: true })
  clientSecretSealed!: string | null;

  /** private_key_jwt: the client's public keys, inline (RFC 7591 §2 `jwks`). */
  @Column({ name: 'jwks', type: 'jsonb', nullable: true })
  jwks!: { keys: Record<string, unknown>[] } | null;

  /** private_key_jwt: where the client publishes its public keys (RFC 7591 §2 `jwks_uri`). */
  @Column({ name: 'jwks_uri', type: 'text', nullable: true })
  jwksUri!: string | null;

  @Column({ name: 'token_endpoint_auth_signing_alg', type: 'text', nullable: true })
  tokenEndpointAuthSigningAlg!: string | null;

  /** CIBA §4: the algorithm every authentication request must be signed with; null: signing optional. */
  @Column({ name: 'backchannel_authentication_request_signing_alg', type: 'text', nullable: true })
  backchannelAuthenticationRequestSigningAlg!: string | null;

  @Column({ name: 'grant_types', type: 'text', array: true })
  grantTypes!: string[];

  @Column({ name: 'scope', type: 'text', array: true })
  scope!: string[];

  @Column({ name: 'backchannel_token_delivery_mode', type: 'text' })
  backchannelTokenDeliveryMode!: string;

  @Column({ name: 'backchannel_client_notification_endpoint', type: 'text', nullable: true })
  backchannelClientNotificationEndpoint!: string | null;

  @Column({ name: 'backchannel_user_code_parameter', type: 'boolean', default: false })
  backchannelUserCodeParameter!: boolean;

  @Column({ name: 'id_token_signed_response_alg', type: 'text', nullable: true })
  idTokenSignedResponseAlg!: string | null;

  /** RFC 9396 §10 client metadata. */
  @Column({ name: 'authorization_details_types', type: 'text', array: true, default: () => "'{}'" })
  authorizationDetailsTypes!: string[];

  /** OpenID Connect Dynamic Client Registration 1.0 §2 client metadata. */
  @Column({ name: 'default_acr_values', type: 'text', array: true, default: () => "'{}'" })
  defaultAcrValues!: string[];

  /** OpenID Connect Core §8: `public` or `pairwise`. */
  @Column({ name: 'subject_type', type: 'text', default: 'public' })
  subjectType!: string;

  /** OpenID Connect Dynamic Client Registration §2: the pairwise sector's document; null: none. */
  @Column({ name: 'sector_identifier_uri', type: 'text', nullable: true })
  sectorIdentifierUri!: string | null;

  /** The registered client profile (`fapi-ciba`); null: none. */
  @Column({ name: 'client_profile', type: 'text', nullable: true })
  clientProfile!: string | null;

  /** RFC 8705 §2.1.2 tls_client_auth: the expected subject; at most one of these five is set. */
  @Column({ name: 'tls_client_auth_subject_dn', type: 'text', nullable: true })
  tlsClientAuthSubjectDn!: string | null;

  @Column({ name: 'tls_client_auth_san_dns', type: 'text', nullable: true })
  tlsClientAuthSanDns!: string | null;

  @Column({ name: 'tls_client_auth_san_uri', type: 'text', nullable: true })
  tlsClientAuthSanUri!: string | null;

  @Column({ name: 'tls_client_auth_san_ip', type: 'text', nullable: true })
  tlsClientAuthSanIp!: string | null;

  @Column({ name: 'tls_client_auth_san_email', type: 'text', nullable: true })
  tlsClientAuthSanEmail!: string | null;

  /** RFC 8705 §3: access tokens bound to the client certificate. */
  @Column({ name: 'tls_client_certificate_bound_access_tokens', type: 'boolean', default: false })
  tlsClientCertificateBoundAccessTokens!: boolean;

  /** RFC 9449 §5.2: every token request carries a DPoP proof. */
  @Column({ name: 'dpop_bound_access_tokens', type: 'boolean', default: false })
  dpopBoundAccessTokens!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
