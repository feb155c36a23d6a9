import type { BatchEntity, BatchStatus } from '@dllm/shared';

const unix = (date: Date | null): number | null =>
  date ? Math.floor(date.getTime() / 1000) : null;

/**
 * Our statuses in OpenAI's words. A batch whose items all failed is "completed" there (OpenAI's
 * "failed" means the input file failed validation, which here is a 400 before any batch exists):
 * its error file says why. Waiting for a worker is "in_progress", as at OpenAI.
 */
const STATUS: Record<BatchStatus, string> = {
  queued: 'in_progress',
  in_progress: 'in_progress',
  completed: 'completed',
  failed: 'completed',
  cancelling: 'cancelling',
  cancelled: 'cancelled',
  expired: 'expired',
};

/** "24h" for 86400 seconds; OpenAI names windows in hours. */
function windowName(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds}s`;
}

/** The OpenAI batch object, for batches created from an input file (POST /v1/batches). */
export function openAiBatchView(b: BatchEntity) {
  const errors = b.failedCount + b.cancelledCount + b.expiredCount;
  return {
    id: b.id,
    object: 'batch' as const,
    endpoint: b.endpoint ?? '/v1/completions',
    model: b.model,
    errors: null,
    input_file_id: b.inputFileId ?? '',
    completion_window: windowName(b.completionWindow),
    status: STATUS[b.status],
    output_file_id: b.outputFileId,
    error_file_id: b.errorFileId,
    created_at: unix(b.createdAt)!,
    in_progress_at: unix(b.inProgressAt),
    expires_at: unix(b.expiresAt),
    finalizing_at: null,
    completed_at: unix(b.completedAt ?? b.failedAt),
    failed_at: null,
    expired_at: unix(b.expiredAt),
    cancelling_at: unix(b.cancellingAt),
    cancelled_at: unix(b.cancelledAt),
    request_counts: { total: b.totalCount, completed: b.completedCount, failed: errors },
    usage: {
      input_tokens: b.totalPromptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: b.totalTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: b.totalPromptTokens + b.totalTokens,
    },
    metadata: b.metadata,
  };
}

export type OpenAiBatchView = ReturnType<typeof openAiBatchView>;
