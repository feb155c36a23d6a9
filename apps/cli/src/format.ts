import type { BatchView as Batch } from '@dllm/contract';
import { ended } from './batch-counts';

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));

/** "3.2s", "4m 05s", "2h 10m". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "2026-05-01 12:03:04" in local time: a table column a person can scan. */
export function localTime(iso: string | null): string {
  if (!iso) return '-';
  const d = new Date(iso);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** The status of one batch as a few aligned lines. */
export function describeBatch(b: Batch): string {
  const c = b.request_counts;
  const rows: [string, string][] = [
    ['batch', b.id],
    ['status', b.status],
    ['model', b.model],
    [
      'items',
      `${ended(b)}/${c.total} ended: ${c.completed} completed, ${c.failed} failed, ${c.expired} expired, ${c.cancelled} cancelled`,
    ],
    ['created', localTime(b.created_at)],
  ];
  if (b.timing.tokens > 0 || b.timing.wall_ms > 0) {
    const t = b.timing;
    rows.push([
      'throughput',
      `${t.tokens} tokens in ${duration(t.wall_ms)}` +
        (t.tokens_per_second !== null ? `, ${t.tokens_per_second} tokens/s` : '') +
        (t.mean_forwards_per_item !== null
          ? `, ${t.mean_forwards_per_item} forwards per item`
          : ''),
    ]);
  }
  if (Object.keys(b.metadata).length > 0)
    rows.push([
      'metadata',
      Object.entries(b.metadata)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    ]);
  if (b.retry_of) rows.push(['retry of', b.retry_of]);
  if (b.retried_by) rows.push(['retried by', b.retried_by]);
  return rows.map(([k, v]) => `${pad(k, 11)}${v}`).join('\n');
}

/** History as a table, newest first. */
export function batchTable(batches: Batch[]): string {
  const header = ['ID', 'STATUS', 'ITEMS', 'FAILED', 'MODEL', 'CREATED', 'TOK/S'];
  const rows = batches.map((b) => [
    b.id,
    b.status,
    `${b.request_counts.completed}/${b.request_counts.total}`,
    String(b.request_counts.failed + b.request_counts.expired),
    b.model,
    localTime(b.created_at),
    b.timing.tokens_per_second === null ? '-' : String(Math.round(b.timing.tokens_per_second)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => pad(cell, widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
