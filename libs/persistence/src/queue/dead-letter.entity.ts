import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** A queued message given up on, with the reason; `created_at` is when it was dead-lettered. */
@Entity({ name: 'dead_letters' })
@Index('ix_dead_letters_consumer_created_at', ['consumer', 'createdAt'])
export class DeadLetterEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'pk_dead_letters' })
  id!: string;

  @Column({ name: 'consumer', type: 'text' })
  consumer!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ name: 'payload', type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ name: 'headers', type: 'jsonb' })
  headers!: Record<string, string>;

  @Column({ name: 'reason', type: 'text' })
  reason!: string;

  @Column({ name: 'deliveries', type: 'integer' })
  deliveries!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
