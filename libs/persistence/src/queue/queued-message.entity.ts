import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** One row per (consumer, message): the durable work table of the in-process bus. */
@Entity({ name: 'queued_messages' })
@Unique('uq_queued_messages_consumer_message_id', ['consumer', 'messageId'])
@Index('ix_queued_messages_consumer_visible_at', ['consumer', 'visibleAt'])
export class QueuedMessageEntity {
  @PrimaryGeneratedColumn('uuid', { name: 'id', primaryKeyConstraintName: 'pk_queued_messages' })
  id!: string;

  @Column({ name: 'consumer', type: 'text' })
  consumer!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'message_id', type: 'text' })
  messageId!: string;

  @Column({ name: 'payload', type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ name: 'headers', type: 'jsonb', default: () => `'{}'` })
  headers!: Record<string, string>;

  @Column({ name: 'deliveries', type: 'integer', default: 0 })
  deliveries!: number;

  @Column({ name: 'visible_at', type: 'timestamptz', default: () => 'now()' })
  visibleAt!: Date;

  // clock_timestamp(), not now(): rows enqueued in one transaction still get a delivery order.
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', default: () => 'clock_timestamp()' })
  createdAt!: Date;
}
