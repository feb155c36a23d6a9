/**
 * Batch lifecycle: queued -> in_progress -> completed | failed | expired, or
 * (queued | in_progress) -> cancelling -> cancelled. The last item to end closes the batch.
 */
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

/** An item in one of these states never changes again: every write path guards on it. */
export const TERMINAL_ITEM_STATUSES = ['completed', 'failed', 'cancelled', 'expired'] as const;
export type TerminalItemStatus = (typeof TERMINAL_ITEM_STATUSES)[number];

/** A batch ends in the same four states as its items (the last item to end closes it). */
export const TERMINAL_BATCH_STATUSES: readonly BatchStatus[] = TERMINAL_ITEM_STATUSES;

export const ITEM_STATUSES = [
  'queued',
  'in_progress',
  'completed',
  'failed',
  'cancelled',
  'expired',
] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

export function isTerminalBatchStatus(status: string): boolean {
  return (TERMINAL_BATCH_STATUSES as readonly string[]).includes(status);
}

export function isTerminalItemStatus(status: string): status is TerminalItemStatus {
  return (TERMINAL_ITEM_STATUSES as readonly string[]).includes(status);
}

/** How a batch was submitted: it decides the shape of its object on /v1/batches (README, API). */
export const BATCH_ORIGINS = ['native', 'openai', 'interactive'] as const;
export type BatchOrigin = (typeof BATCH_ORIGINS)[number];
