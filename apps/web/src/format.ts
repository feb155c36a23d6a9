/** Numbers and times as a person reads them. */
export const fmt = {
  int: (n: number | null | undefined): string =>
    n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'),
  num: (n: number | null | undefined, digits = 1): string =>
    n === null || n === undefined
      ? '–'
      : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }),
  ms: (ms: number | null | undefined): string => {
    if (ms === null || ms === undefined) return '–';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    const s = Math.round(ms / 1000);
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  },
  /** "12:03:04" today, "May 3, 12:03" otherwise. */
  time: (iso: string | null | undefined): string => {
    if (!iso) return '–';
    const d = new Date(iso);
    const today = new Date().toDateString() === d.toDateString();
    return today
      ? d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : d.toLocaleString('en-US', {
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          hour12: false,
        });
  },
  ago: (iso: string | null | undefined): string => {
    if (!iso) return '–';
    const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) return `${Math.floor(s)}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return `${Math.floor(s / 86400)}d ago`;
  },
  shortId: (id: string): string => id.slice(0, 8),
  status: (s: string): string => s.replace('_', ' '),
};
