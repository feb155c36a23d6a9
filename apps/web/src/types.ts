/** The API's objects, as far as the dashboard reads them. */
export interface Batch {
  id: string;
  object: 'batch';
  status: BatchStatus;
  model: string;
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  completion_window: number;
  retry_of: string | null;
  retried_by: string | null;
  /** the uploaded file a batch was made from (OpenAI input_file_id), else null */
  input_file_id: string | null;
  request_counts: {
    total: number;
    completed: number;
    failed: number;
    cancelled: number;
    expired: number;
  };
  created_at: string;
  enqueued_at: string | null;
  in_progress_at: string | null;
  completed_at: string | null;
  failed_at: string | null;
  cancelling_at: string | null;
  cancelled_at: string | null;
  expired_at: string | null;
  expires_at: string | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  timing: {
    tokens: number;
    wall_ms: number;
    tokens_per_second: number | null;
    mean_forwards_per_item: number | null;
    mean_queue_ms: number | null;
    compute_ms: number;
  };
}

export const BATCH_STATUSES = [
  'queued',
  'in_progress',
  'completed',
  'failed',
  'cancelling',
  'cancelled',
  'expired',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export const TERMINAL: readonly string[] = ['completed', 'failed', 'cancelled', 'expired'];

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor?: string | null;
  next_after?: number | null;
}

export interface Item {
  index: number;
  custom_id: string;
  status: string;
  output: string | null;
  finish_reason: string | null;
  steps: number | null;
  tokens: number | null;
  prompt_tokens: number | null;
  queue_ms: number | null;
  compute_ms: number | null;
  seed: number | null;
  error: string | null;
  prompt?: string;
  prefix?: string;
  suffix?: string;
}

export interface Histogram {
  bins: { from: number; to: number; count: number }[];
}

export interface BatchStats {
  throughput: {
    start: string | null;
    bucket_seconds: number | null;
    points: { t: number; items: number; tokens: number; tokens_per_second: number }[];
  };
  forwards_per_item: Histogram;
  compute_ms: Histogram;
}

export interface CanvasFrame {
  index: number;
  step: number;
  text: string;
  masked: number;
}
