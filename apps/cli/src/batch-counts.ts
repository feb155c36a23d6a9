import type { BatchView } from '@dllm/contract';

/** Items that ended, however they ended. */
export const ended = (b: BatchView): number => {
  const c = b.request_counts;
  return c.completed + c.failed + c.cancelled + c.expired;
};

/** Every item completed: what exit code 0 after a wait means. */
export const allCompleted = (b: BatchView): boolean =>
  b.status === 'completed' && b.request_counts.completed === b.request_counts.total;
