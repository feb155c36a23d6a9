import type { BatchStatus, ItemStatus } from './statuses';

export interface BatchCounts {
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  expired: number;
}

/** A batch on the wire: GET /v1/batches/:id, history pages, the progress stream's events. */
export interface BatchView {
  id: string;
  object: 'batch';
  status: BatchStatus;
  model: string;
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  /** seconds */
  completion_window: number;
  retry_of: string | null;
  retried_by: string | null;
  /** the uploaded file a batch was made from (OpenAI input_file_id), else null */
  input_file_id: string | null;
  request_counts: BatchCounts;
  created_at: string;
  enqueued_at: string | null;
  in_progress_at: string | null;
  completed_at: string | null;
  failed_at: string | null;
  cancelling_at: string | null;
  cancelled_at: string | null;
  expired_at: string | null;
  expires_at: string;
  /**
   * When its results (items, output and error files) expire: RESULT_RETENTION_S after it ended;
   * past it, reads of them answer 410. Null while it runs, or when results are kept forever.
   * In GET /v1/batches/:id and list replies (not in stream events).
   */
  results_expire_at?: string | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  timing: {
    tokens: number;
    /** since the first item started, to the end (or now while it runs) */
    wall_ms: number;
    tokens_per_second: number | null;
    mean_forwards_per_item: number | null;
    mean_queue_ms: number | null;
    compute_ms: number;
  };
}

/** One ended item's outcome: a line of GET /v1/batches/:id/results, without its input. */
export interface ResultLine {
  index: number;
  custom_id: string;
  status: ItemStatus;
  output: string | null;
  finish_reason: string | null;
  steps: number | null;
  tokens: number | null;
  prompt_tokens: number | null;
  queue_ms: number | null;
  compute_ms: number | null;
  provider: string | null;
  seed: number | null;
  /** the step budget it ran under and the setting it actually used (auto: the controller's pick) */
  budget: string | null;
  applied_threshold: number | null;
  applied_max_steps: number | null;
  error: string | null;
  failure_reason: string | null;
}

/** One item with its result so far (GET /v1/batches/:id/items): its outcome plus its input. */
export type ItemView = ResultLine & {
  params: Record<string, unknown>;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  /** a completion's prompt, or an infilling's prefix and suffix */
  prompt?: string;
  prefix?: string | null;
  suffix?: string | null;
};

/** A page of a list route: batches by cursor (history), items by index (next_after). */
export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  next_cursor?: string | null;
  next_after?: number | null;
  first_id?: string | null;
  last_id?: string | null;
}

export interface Histogram {
  bins: { from: number; to: number; count: number }[];
}

/** GET /v1/batches/:id/stats: throughput over time and distributions of per-item cost. */
export interface BatchStats {
  object: 'batch.stats';
  batch_id: string;
  throughput: {
    start: string | null;
    bucket_seconds: number | null;
    points: { t: number; items: number; tokens: number; tokens_per_second: number }[];
  };
  forwards_per_item: Histogram;
  compute_ms: Histogram;
}
