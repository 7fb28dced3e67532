import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * An end-user. The lookup indexes are expression indexes written by hand in the migrations
 * (`lower(email)`, the normalised phone number, `lower(username)`); `synchronize: false` tells the schema diff
 * they are not TypeORM's to manage.
 */
@Entity({ name: 'users' })
@Index('ix_users_email_lower', { synchronize: false })
@Index('ix_users_phone_number_normalised', { synchronize: false })
@Index('ux_users_username_lower', { synchronize: false })
export class UserEntity {
  @PrimaryColumn({ name: 'sub', type: 'text', primaryKeyConstraintName: 'pk_users' })
  sub!: string;

  @Column({ name: 'name', type: 'text', nullable: true })
  name!: string | null;

  @Column({ name: 'email', type: 'text', nullable: true })
  email!: string | null;

  @Column({ name: 'email_verified', type: 'boolean', default: false })
  emailVerified!: boolean;

  @Column({ name: 'phone_number', type: 'text', nullable: true })
  phoneNumber!: string | null;

  @Column({ name: 'phone_number_verified', type: 'boolean', default: false })
  phoneNumberVerified!: boolean;

  /** `preferred_username`, unique case-insensitively (`ux_users_username_lower`): a login_hint form. */
  @Column({ name: 'username', type: 'text', nullable: true })
  username!: string | null;

  /** Ordered channel kinds to try (e.g. device-push, email, sms); null follows the deployment's default. */
  @Column({ name: 'channel_preference', type: 'text', array: true, nullable: true })
  channelPreference!: string[] | null;

  /** CIBA §7.1: the user's code as a scrypt hash (tokens lib `SecretHasher`), never the code; null: none set. */
  @Column({ name: 'user_code_hash', type: 'text', nullable: true })
  userCodeHash!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
