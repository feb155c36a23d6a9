import type { BatchEntity } from './entities/batch.entity';

/**
 * When a batch ended, in SQL: closing a batch sets the timestamp of its terminal status
 * (BatchProgressRepository), so exactly one of these is set on an ended batch.
 */
export const BATCH_ENDED_AT_SQL = 'coalesce(completed_at, failed_at, cancelled_at, expired_at)';

type Ended = Pick<BatchEntity, 'completedAt' | 'failedAt' | 'cancelledAt' | 'expiredAt'>;

/** When a batch ended (null while it is open). */
export function batchEndedAt(batch: Ended): Date | null {
  return batch.completedAt ?? batch.failedAt ?? batch.cancelledAt ?? batch.expiredAt ?? null;
}

/** When a batch's results expire (RESULT_RETENTION_S after its end); null: open, or kept forever. */
export function resultsExpireAt(batch: Ended, retentionS: number): Date | null {
  const ended = batchEndedAt(batch);
  return ended && retentionS > 0 ? new Date(ended.getTime() + retentionS * 1000) : null;
}

/** When a batch's canvases are gone from Redis (CANVAS_RETENTION_S after its end); null: open. */
export function canvasesExpireAt(batch: Ended, retentionS: number): Date | null {
  const ended = batchEndedAt(batch);
  return ended ? new Date(ended.getTime() + retentionS * 1000) : null;
}
