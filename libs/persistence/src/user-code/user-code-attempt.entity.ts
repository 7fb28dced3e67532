import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * User code verifications per key (a digest of a user's sub, or of a hint naming nobody) in the
 * current window, and the lock once the window's limit is used up.
 */
@Entity({ name: 'user_code_attempts' })
@Index('ix_user_code_attempts_window_ends_at', ['windowEndsAt'])
export class UserCodeAttemptEntity {
  @PrimaryColumn({ name: 'key_hash', type: 'text', primaryKeyConstraintName: 'pk_user_code_attempts' })
  keyHash!: string;

  @Column({ name: 'attempts', type: 'integer' })
  attempts!: number;

  @Column({ name: 'window_ends_at', type: 'timestamptz' })
  windowEndsAt!: Date;

  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil!: Date | null;
}
