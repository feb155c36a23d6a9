import type { BatchView as Batch } from '@dllm/contract';

/** Items by outcome as one stacked bar: completed, failed, expired, cancelled, and what is left. */
export function ProgressBar({
  counts,
  large,
}: {
  counts: Batch['request_counts'];
  large?: boolean;
}) {
  const pct = (n: number) => `${counts.total > 0 ? (100 * n) / counts.total : 0}%`;
  const ended = counts.completed + counts.failed + counts.expired + counts.cancelled;
  return (
    <div
      class={`progress ${large ? 'progress-large' : ''}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={counts.total}
      aria-valuenow={ended}
      title={`${counts.completed} completed, ${counts.failed} failed, ${counts.expired} expired, ${counts.cancelled} cancelled of ${counts.total}`}
    >
      <span class="seg seg-completed" style={{ width: pct(counts.completed) }} />
      <span class="seg seg-failed" style={{ width: pct(counts.failed) }} />
      <span class="seg seg-expired" style={{ width: pct(counts.expired) }} />
      <span class="seg seg-cancelled" style={{ width: pct(counts.cancelled) }} />
    </div>
  );
}
