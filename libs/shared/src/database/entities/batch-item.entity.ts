import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ItemStatus } from '../statuses';

/**
 * One generation request of a batch, and later its result. Exactly one of `prompt` or
 * (`prefix`, `suffix`) is set (a CHECK constraint holds it).
 */
@Entity({ name: 'batch_items' })
export class BatchItemEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' })
  batchId!: string;

  /** 0-based position in the submitted batch; results are ordered by it. */
  @PrimaryColumn({ type: 'integer' })
  index!: number;

  @Column({ name: 'custom_id', type: 'varchar', length: 64 })
  customId!: string;

  @Column({ type: 'text', nullable: true })
  prompt!: string | null;

  @Column({ type: 'text', nullable: true })
  prefix!: string | null;

  @Column({ type: 'text', nullable: true })
  suffix!: string | null;

  /** Fully validated GenerationParams: the item's own over the batch defaults, defaults filled. */
  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status!: ItemStatus;

  @Column({ type: 'text', nullable: true })
  output!: string | null;

  @Column({ name: 'finish_reason', type: 'varchar', length: 16, nullable: true })
  finishReason!: string | null;

  /** Forwards (NFE) the row took part in. */
  @Column({ type: 'integer', nullable: true })
  steps!: number | null;

  @Column({ type: 'integer', nullable: true })
  tokens!: number | null;

  @Column({ name: 'prompt_tokens', type: 'integer', nullable: true })
  promptTokens!: number | null;

  @Column({ name: 'queue_ms', type: 'integer', nullable: true })
  queueMs!: number | null;

  @Column({ name: 'compute_ms', type: 'integer', nullable: true })
  computeMs!: number | null;

  @Column({ type: 'integer', nullable: true })
  seed!: number | null;

  /** Execution provider that ran the item's forwards (webgpu, cuda, cpu). */
  @Column({ type: 'varchar', length: 16, nullable: true })
  provider!: string | null;

  /** The step budget it ran under: fixed, or auto (the worker's budget controller picked the threshold). */
  @Column({ type: 'varchar', length: 8, nullable: true })
  budget!: string | null;

  /** The threshold it actually ran with (threshold policy only). */
  @Column({ name: 'applied_threshold', type: 'double precision', nullable: true })
  appliedThreshold!: number | null;

  /** The forward cap it ran with (max_steps, default gen_length). */
  @Column({ name: 'applied_max_steps', type: 'integer', nullable: true })
  appliedMaxSteps!: number | null;

  @Column({ name: 'worker_id', type: 'varchar', length: 128, nullable: true })
  workerId!: string | null;

  /** Times a worker claimed the item (more than 1 after a crash or a lost lock). */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Runs of this item alone (after a crash) that did not end it; see ITEM_POISON_RUNS. */
  @Column({ name: 'isolated_runs', type: 'integer', default: 0 })
  isolatedRuns!: number;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Why a failed item failed, machine-readable (FAILURE_REASONS). */
  @Column({ name: 'failure_reason', type: 'varchar', length: 32, nullable: true })
  failureReason!: string | null;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;
}
