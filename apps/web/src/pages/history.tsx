import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { ProgressBar } from '../components/progress-bar';
import { StatusBadge } from '../components/status-badge';
import { UserText } from '../components/user-text';
import { fmt } from '../format';
import { href, navigate, type Route } from '../router';
import {
  BATCH_STATUSES,
  isTerminalBatchStatus,
  type BatchView as Batch,
  type Page,
} from '@dllm/contract';

/** The API's history filters, kept in the URL (#/?status=...&model=...) so a view can be shared. */
interface Filters {
  statuses: string[];
  model: string;
  createdAfter: string;
  createdBefore: string;
  metadata: string;
  limit: string;
}

const fromQuery = (q: URLSearchParams): Filters => ({
  statuses: (q.get('status') ?? '').split(',').filter(Boolean),
  model: q.get('model') ?? '',
  createdAfter: q.get('created_after') ?? '',
  createdBefore: q.get('created_before') ?? '',
  metadata: q.get('metadata') ?? '',
  limit: q.get('limit') ?? '20',
});

const toQuery = (f: Filters): URLSearchParams => {
  // native shape for every batch, also those made from OpenAI input files
  const q = new URLSearchParams({ view: 'native' });
  if (f.statuses.length) q.set('status', f.statuses.join(','));
  if (f.model) q.set('model', f.model);
  if (f.createdAfter) q.set('created_after', f.createdAfter);
  if (f.createdBefore) q.set('created_before', f.createdBefore);
  if (f.metadata) q.set('metadata', f.metadata);
  if (f.limit !== '20') q.set('limit', f.limit);
  return q;
};

/** The dashboard's filters as the API's query: datetime-local values are local times; metadata "k=v, k2=v2". */
function apiQuery(f: Filters, cursor?: string): string {
  // native shape for every batch, also those made from OpenAI input files
  const q = new URLSearchParams({ view: 'native' });
  if (f.statuses.length) q.set('status', f.statuses.join(','));
  if (f.model) q.set('model', f.model);
  if (f.createdAfter) q.set('created_after', new Date(f.createdAfter).toISOString());
  if (f.createdBefore) q.set('created_before', new Date(f.createdBefore).toISOString());
  for (const pair of f.metadata
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) q.set(`metadata[${pair.slice(0, eq).trim()}]`, pair.slice(eq + 1).trim());
  }
  q.set('limit', f.limit);
  if (cursor) q.set('cursor', cursor);
  return q.toString();
}

export function History({ route }: { route: Route }) {
  const applied = fromQuery(route.query);
  const [draft, setDraft] = useState<Filters>(applied);
  const [batches, setBatches] = useState<Batch[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const queryKey = route.query.toString();

  useEffect(() => {
    setDraft(applied);
    let stop = false;
    const load = async () => {
      try {
        const page = await api.get<Page<Batch>>(`/v1/batches?${apiQuery(applied)}`);
        if (stop) return;
        setError(null);
        // A refresh replaces the first page and keeps pages loaded beyond it.
        setBatches((old) =>
          old && old.length > page.data.length
            ? [...page.data, ...old.slice(page.data.length)]
            : page.data,
        );
        setCursor((old) => old ?? page.next_cursor ?? null);
        return page.data.some((b) => !isTerminalBatchStatus(b.status));
      } catch (err) {
        if (!stop) setError(err instanceof ApiError ? err.message : String(err));
        return false;
      }
    };
    setBatches(null);
    setCursor(null);
    let timer: number | undefined;
    const tick = async () => {
      const open = await load();
      if (!stop) timer = window.setTimeout(() => void tick(), open ? 2000 : 10000);
    };
    void tick();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [queryKey]);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await api.get<Page<Batch>>(`/v1/batches?${apiQuery(applied, cursor)}`);
      setBatches((old) => [...(old ?? []), ...page.data]);
      setCursor(page.next_cursor ?? null);
    } finally {
      setLoadingMore(false);
    }
  };

  const toggle = (s: string) =>
    setDraft((d) => ({
      ...d,
      statuses: d.statuses.includes(s) ? d.statuses.filter((x) => x !== s) : [...d.statuses, s],
    }));
  const apply = (e?: Event) => {
    e?.preventDefault();
    navigate('/', toQuery(draft));
  };
  const input = (field: keyof Filters) => (e: Event) =>
    setDraft((d) => ({ ...d, [field]: (e.target as HTMLInputElement).value }));
  const filtered = queryKey !== '';

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Batches</h1>
          <p class="muted">Every batch of your tenant, newest first.</p>
        </div>
        <a class="btn btn-primary" href={href('/playground')}>
          Open playground
        </a>
      </header>

      <form class="card filters" onSubmit={apply} aria-label="filters">
        <div class="filter-row">
          <div class="chips" role="group" aria-label="status">
            {BATCH_STATUSES.map((s) => (
              <button
                type="button"
                class={`chip ${draft.statuses.includes(s) ? 'chip-on' : ''}`}
                aria-pressed={draft.statuses.includes(s)}
                data-status={s}
                onClick={() => toggle(s)}
              >
                {fmt.status(s)}
              </button>
            ))}
          </div>
        </div>
        <div class="filter-row filter-fields">
          <label class="field">
            <span>Model</span>
            <input name="model" value={draft.model} onInput={input('model')} placeholder="any" />
          </label>
          <label class="field">
            <span>Created after</span>
            <input
              name="created_after"
              type="datetime-local"
              value={draft.createdAfter}
              onInput={input('createdAfter')}
            />
          </label>
          <label class="field">
            <span>Created before</span>
            <input
              name="created_before"
              type="datetime-local"
              value={draft.createdBefore}
              onInput={input('createdBefore')}
            />
          </label>
          <label class="field field-wide">
            <span>Metadata</span>
            <input
              name="metadata"
              value={draft.metadata}
              onInput={input('metadata')}
              placeholder="key=value, key2=value2"
            />
          </label>
          <label class="field field-narrow">
            <span>Per page</span>
            <select name="limit" value={draft.limit} onChange={input('limit')}>
              {['20', '50', '100'].map((n) => (
                <option value={n}>{n}</option>
              ))}
            </select>
          </label>
          <div class="filter-actions">
            <button class="btn btn-primary" type="submit">
              Apply
            </button>
            {filtered && (
              <a class="btn btn-ghost" href={href('/')}>
                Reset
              </a>
            )}
          </div>
        </div>
      </form>

      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}

      <div class="card table-card">
        <table class="table batches-table">
          <thead>
            <tr>
              <th>Batch</th>
              <th>Status</th>
              <th class="col-progress">Progress</th>
              <th>Model</th>
              <th class="num">Tokens/s</th>
              <th>Metadata</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {batches === null && (
              <tr>
                <td colSpan={7} class="empty">
                  Loading…
                </td>
              </tr>
            )}
            {batches?.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  {filtered
                    ? 'No batch matches these filters.'
                    : 'No batches yet. Submit one with the CLI, the API, or the playground.'}
                </td>
              </tr>
            )}
            {batches?.map((b) => {
              const c = b.request_counts;
              return (
                <tr
                  key={b.id}
                  class="row-link"
                  data-batch-id={b.id}
                  onClick={() => navigate(`/batches/${b.id}`)}
                >
                  <td>
                    <a class="mono" href={href(`/batches/${b.id}`)}>
                      {fmt.shortId(b.id)}
                    </a>
                    {b.retry_of && (
                      <span class="tag tag-retry" title={`retry of ${b.retry_of}`}>
                        retry
                      </span>
                    )}
                  </td>
                  <td>
                    <StatusBadge status={b.status} />
                  </td>
                  <td class="col-progress">
                    <ProgressBar counts={c} />
                    <div class="progress-caption">
                      {fmt.int(c.completed)} / {fmt.int(c.total)}
                      {c.failed + c.expired > 0 && (
                        <span class="text-failed"> · {fmt.int(c.failed + c.expired)} failed</span>
                      )}
                    </div>
                  </td>
                  <td>{b.model}</td>
                  <td class="num">{fmt.num(b.timing.tokens_per_second, 0)}</td>
                  <td>
                    {Object.entries(b.metadata).map(([k, v]) => (
                      <span class="tag">
                        <UserText text={`${k}=${v}`} />
                      </span>
                    ))}
                  </td>
                  <td title={new Date(b.created_at).toLocaleString()}>{fmt.ago(b.created_at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {cursor && (
          <div class="table-footer">
            <button class="btn" onClick={() => void more()} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load more'}
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
