// The statuses are part of the wire contract; Postgres stores the same names.
import { TERMINAL_ITEM_STATUSES } from '@dllm/contract';

export {
  BATCH_ORIGINS,
  BATCH_STATUSES,
  ITEM_STATUSES,
  isTerminalBatchStatus,
  isTerminalItemStatus,
  TERMINAL_BATCH_STATUSES,
  TERMINAL_ITEM_STATUSES,
  type BatchOrigin,
  type BatchStatus,
  type ItemStatus,
  type TerminalItemStatus,
} from '@dllm/contract';

/**
 * The terminal statuses (of items and of batches: the same four) as a SQL list for queries
 * written by hand: `('completed', 'failed', 'cancelled', 'expired')`.
 */
export const TERMINAL_STATUSES_SQL = `(${TERMINAL_ITEM_STATUSES.map((s) => `'${s}'`).join(', ')})`;
