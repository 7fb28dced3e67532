import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Requests one client took to its users in one fixed window: the per-client prompt limit's counter. */
@Entity({ name: 'client_prompt_windows' })
export class ClientPromptWindowEntity {
  @PrimaryColumn({ name: 'client_id', type: 'text', primaryKeyConstraintName: 'pk_client_prompt_windows' })
  clientId!: string;

  @PrimaryColumn({ name: 'window_start', type: 'timestamptz', primaryKeyConstraintName: 'pk_client_prompt_windows' })
  windowStart!: Date;

  @Column({ name: 'prompts', type: 'integer' })
  prompts!: number;
}
