import { fmt } from '../format';

export function StatusBadge({ status }: { status: string }) {
  const live = status === 'in_progress' || status === 'cancelling' || status === 'queued';
  return (
    <span class={`badge badge-${status}`} data-status={status}>
      {live && <span class="badge-dot" />}
      {fmt.status(status)}
    </span>
  );
}
