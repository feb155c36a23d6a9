import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { BatchOrigin, BatchStatus } from '../statuses';
import { bigintAsNumber } from './column-types';

/**
 * One submitted batch. Counters and timing sums move atomically with the item writes
 * (BatchProgressRepository); the row is what status reads, history and SSE look at.
 */
@Entity({ name: 'batches' })
export class BatchEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 64 })
  tenant!: string;

  @Column({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: BatchStatus;

  @Column({ type: 'varchar', length: 128 })
  model!: string;

  /** Batch-level default generation parameters as given (validated); items store theirs merged. */
  @Column({ type: 'jsonb' })
  params!: Record<string, unknown>;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata!: Record<string, string>;

  /** Seconds the batch may take; items not started by expires_at end as expired. */
  @Column({ name: 'completion_window', type: 'integer' })
  completionWindow!: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true })
  idempotencyKey!: string | null;

  /** SHA-256 of the request that created the batch, to tell a replay from a key reused. */
  @Column({ name: 'request_hash', type: 'char', length: 64, nullable: true })
  requestHash!: string | null;

  /** The batch this one retries (its failed and expired items), if it is a retry. */
  @Column({ name: 'retry_of', type: 'uuid', nullable: true })
  retryOf!: string | null;

  /** The latest retry of this batch, if any. */
  @Column({ name: 'retried_by', type: 'uuid', nullable: true })
  retriedBy!: string | null;

  @Column({ name: 'total_count', type: 'integer' })
  totalCount!: number;

  @Column({ name: 'completed_count', type: 'integer', default: 0 })
  completedCount!: number;

  @Column({ name: 'failed_count', type: 'integer', default: 0 })
  failedCount!: number;

  @Column({ name: 'cancelled_count', type: 'integer', default: 0 })
  cancelledCount!: number;

  @Column({ name: 'expired_count', type: 'integer', default: 0 })
  expiredCount!: number;

  /** Generated tokens over every finished item. */
  @Column({ name: 'total_tokens', type: 'bigint', default: 0, transformer: bigintAsNumber })
  totalTokens!: number;

  @Column({ name: 'total_prompt_tokens', type: 'bigint', default: 0, transformer: bigintAsNumber })
  totalPromptTokens!: number;

  @Column({ name: 'total_compute_ms', type: 'bigint', default: 0, transformer: bigintAsNumber })
  totalComputeMs!: number;

  /** Forwards (NFE) summed over items. */
  @Column({ name: 'total_forwards', type: 'bigint', default: 0, transformer: bigintAsNumber })
  totalForwards!: number;

  @Column({ name: 'total_queue_ms', type: 'bigint', default: 0, transformer: bigintAsNumber })
  totalQueueMs!: number;

  /** Items that reported timings (the denominator of the means). */
  @Column({ name: 'timed_count', type: 'integer', default: 0 })
  timedCount!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Null until its chunk jobs are in Redis; the repair loop looks for old nulls. */
  @Column({ name: 'enqueued_at', type: 'timestamptz', nullable: true })
  enqueuedAt!: Date | null;

  /** Items per chunk job when it was enqueued (the repair loop maps items to jobs with it). */
  @Column({ name: 'chunk_size', type: 'integer', nullable: true })
  chunkSize!: number | null;

  @Column({ name: 'in_progress_at', type: 'timestamptz', nullable: true })
  inProgressAt!: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'failed_at', type: 'timestamptz', nullable: true })
  failedAt!: Date | null;

  @Column({ name: 'cancelling_at', type: 'timestamptz', nullable: true })
  cancellingAt!: Date | null;

  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true })
  cancelledAt!: Date | null;

  @Column({ name: 'expired_at', type: 'timestamptz', nullable: true })
  expiredAt!: Date | null;

  /** The door it came through: native JSON/JSONL, an OpenAI input file, or a sync completion. */
  @Column({ type: 'varchar', length: 16, default: 'native' })
  origin!: BatchOrigin;

  /** The OpenAI endpoint of its lines (/v1/completions, /v1/chat/completions); null for JSON items. */
  @Column({ type: 'varchar', length: 32, nullable: true })
  endpoint!: string | null;

  @Column({ name: 'input_file_id', type: 'varchar', length: 64, nullable: true })
  inputFileId!: string | null;

  /** Set once the batch ended and its results were given a file (OpenAI batches). */
  @Column({ name: 'output_file_id', type: 'varchar', length: 64, nullable: true })
  outputFileId!: string | null;

  @Column({ name: 'error_file_id', type: 'varchar', length: 64, nullable: true })
  errorFileId!: string | null;

  /** Notified (signed POST) once the batch ends. */
  @Column({ name: 'webhook_url', type: 'text', nullable: true })
  webhookUrl!: string | null;

  @Column({ name: 'webhook_enqueued_at', type: 'timestamptz', nullable: true })
  webhookEnqueuedAt!: Date | null;

  @Column({ name: 'webhook_delivered_at', type: 'timestamptz', nullable: true })
  webhookDeliveredAt!: Date | null;

  /** Set when the cleanup job deleted its items (RESULT_RETENTION_S after it ended); the row stays. */
  @Column({ name: 'results_purged_at', type: 'timestamptz', nullable: true })
  resultsPurgedAt!: Date | null;

  /** Items that asked for canvases (intermediate_every > 0), for TENANT_CANVAS_QUOTA_ITEMS. */
  @Column({ name: 'canvas_items', type: 'integer', default: 0 })
  canvasItems!: number;

  /** Its batch-ended event was appended to Redis (null on an ended batch: the repair loop will). */
  @Column({ name: 'ended_event_at', type: 'timestamptz', nullable: true })
  endedEventAt!: Date | null;
}
