import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The requests one client took to one user within the per-(client, user) limit's sliding window, and
 * when (parallel arrays, oldest first, trimmed as the row is written): the limit's exact count, what
 * makes counting a request idempotent, and the row claims for the pair lock. One row per pair.
 */
@Entity({ name: 'client_user_prompts' })
@Check('ck_client_user_prompts_parallel', `cardinality("request_ids") = cardinality("sent_at")`)
export class ClientUserPromptsEntity {
  @PrimaryColumn({ name: 'client_id', type: 'text', primaryKeyConstraintName: 'pk_client_user_prompts' })
  clientId!: string;

  @PrimaryColumn({ name: 'subject', type: 'text', primaryKeyConstraintName: 'pk_client_user_prompts' })
  subject!: string;

  @Column({ name: 'request_ids', type: 'uuid', array: true })
  requestIds!: string[];

  @Column({ name: 'sent_at', type: 'timestamptz', array: true })
  sentAt!: Date[];
}
