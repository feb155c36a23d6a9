/** The parts of the API's batch object the CLI reads. */
export interface Batch {
  id: string;
  status: string;
  model: string;
  metadata: Record<string, string>;
  retry_of: string | null;
  retried_by: string | null;
  request_counts: {
    total: number;
    completed: number;
    failed: number;
    cancelled: number;
    expired: number;
  };
  created_at: string;
  in_progress_at: string | null;
  expires_at: string | null;
  timing: {
    tokens: number;
    wall_ms: number;
    tokens_per_second: number | null;
    mean_forwards_per_item: number | null;
    mean_queue_ms: number | null;
  };
}

export interface BatchPage {
  data: Batch[];
  has_more: boolean;
  next_cursor: string | null;
}

export const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled', 'expired']);

export const ended = (b: Batch): number => {
  const c = b.request_counts;
  return c.completed + c.failed + c.cancelled + c.expired;
};

/** Every item completed: what exit code 0 after a wait means. */
export const allCompleted = (b: Batch): boolean =>
  b.status === 'completed' && b.request_counts.completed === b.request_counts.total;
