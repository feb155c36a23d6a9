import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import {
  computeColors,
  forwardsColors,
  HistogramChart,
  ThroughputChart,
} from '../components/batch-charts';
import { ProgressBar } from '../components/progress-bar';
import { StatusBadge } from '../components/status-badge';
import { UserText } from '../components/user-text';
import { fmt } from '../format';
import { href, navigate } from '../router';
import { session } from '../session';
import {
  isTerminalBatchStatus,
  type BatchStats,
  type BatchView as Batch,
  type ItemView as Item,
  type Page,
} from '@dllm/contract';

const PREVIEW_ROWS = 20;
/** Charts and the preview are re-read at most this often while progress events arrive. */
const REFRESH_MS = 1500;

type PreviewFilter = '' | 'completed' | 'failed' | 'expired' | 'cancelled';

export function BatchPage({ id }: { id: string }) {
  const [batch, setBatch] = useState<Batch | null>(null);
  const [stats, setStats] = useState<BatchStats | null>(null);
  const [items, setItems] = useState<Item[] | null>(null);
  const [filter, setFilter] = useState<PreviewFilter>('');
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<'cancel' | 'retry' | 'download' | null>(null);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  const loadPreview = async (f: PreviewFilter = filterRef.current) => {
    const page = await api.get<Page<Item>>(
      `/v1/batches/${id}/items?limit=${PREVIEW_ROWS}${f ? `&status=${f}` : ''}`,
    );
    setItems(page.data);
  };

  // The batch, then live progress over SSE; charts and the preview follow, throttled.
  useEffect(() => {
    const stop = new AbortController();
    let lastRefresh = 0;
    let pending: number | undefined;
    const refresh = (force = false) => {
      const run = () => {
        lastRefresh = Date.now();
        void api
          .get<BatchStats>(`/v1/batches/${id}/stats`, stop.signal)
          .then(setStats, () => undefined);
        void loadPreview().catch(() => undefined);
      };
      window.clearTimeout(pending);
      const wait = REFRESH_MS - (Date.now() - lastRefresh);
      if (force || wait <= 0) run();
      else pending = window.setTimeout(run, wait);
    };
    setBatch(null);
    setStats(null);
    setItems(null);
    setError(null);
    setNotice(null);
    api
      .get<Batch>(`/v1/batches/${id}?view=native`, stop.signal)
      .then(async (b) => {
        setBatch(b);
        refresh(true);
        if (isTerminalBatchStatus(b.status)) return;
        setLive(true);
        await api.follow(
          `/v1/batches/${id}/events`,
          (e) => {
            if (e.event !== 'progress' && e.event !== 'done') return;
            const next = JSON.parse(e.data) as Batch;
            setBatch(next);
            refresh(e.event === 'done');
          },
          stop.signal,
          (e) => e.event === 'done',
        );
      })
      .catch((err: unknown) => {
        if (!stop.signal.aborted) setError(err instanceof ApiError ? err.message : String(err));
      })
      .finally(() => {
        if (!stop.signal.aborted) setLive(false);
      });
    return () => {
      stop.abort();
      window.clearTimeout(pending);
    };
  }, [id]);

  useEffect(() => {
    if (batch) void loadPreview(filter).catch(() => undefined);
  }, [filter]);

  const cancel = async () => {
    setBusy('cancel');
    try {
      setBatch(await api.post<Batch>(`/v1/batches/${id}/cancel?view=native`));
      setNotice('Cancelling: queued items end now, running ones at their next step.');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(null);
    }
  };

  const retry = async () => {
    setBusy('retry');
    try {
      const made = await api.post<Batch>(`/v1/batches/${id}/retry`);
      navigate(`/batches/${made.id}`);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
      setBusy(null);
    }
  };

  // The results download needs the Authorization header, so it is fetched and handed over as a blob.
  const download = async () => {
    setBusy('download');
    try {
      const res = await fetch(`/v1/batches/${id}/results`, {
        headers: { authorization: `Bearer ${session.key() ?? ''}` },
      });
      if (!res.ok) throw new Error(`results: ${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `batch_${id}_results.jsonl`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(String(err));
    } finally {
      setBusy(null);
    }
  };

  const cards = useMemo(() => (batch ? statCards(batch) : []), [batch]);

  if (error && !batch) {
    return (
      <div class="page">
        <a class="back" href={href('/')}>
          ← Batches
        </a>
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      </div>
    );
  }
  if (!batch) return <div class="page muted">Loading…</div>;

  const c = batch.request_counts;
  const open = !isTerminalBatchStatus(batch.status) && batch.status !== 'cancelling';
  const retryable = isTerminalBatchStatus(batch.status) && c.failed + c.expired > 0;
  const ended = c.completed + c.failed + c.expired + c.cancelled;

  return (
    <div class="page" data-batch-id={batch.id}>
      <a class="back" href={href('/')}>
        ← Batches
      </a>
      <header class="page-header">
        <div>
          <h1 class="batch-title">
            Batch <span class="mono">{fmt.shortId(batch.id)}</span>{' '}
            <StatusBadge status={batch.status} />
            {live && (
              <span class="live" title="receiving progress events">
                <span class="live-dot" /> live
              </span>
            )}
          </h1>
          <p class="muted mono small">{batch.id}</p>
          <p class="links">
            {batch.retry_of && (
              <span>
                Retry of{' '}
                <a class="mono" href={href(`/batches/${batch.retry_of}`)} data-link="retry-of">
                  {fmt.shortId(batch.retry_of)}
                </a>
              </span>
            )}
            {batch.retried_by && (
              <span>
                Retried as{' '}
                <a class="mono" href={href(`/batches/${batch.retried_by}`)} data-link="retried-by">
                  {fmt.shortId(batch.retried_by)}
                </a>
              </span>
            )}
          </p>
        </div>
        <div class="actions">
          <button
            class="btn"
            onClick={() => void download()}
            disabled={busy !== null || ended === 0}
          >
            Download results
          </button>
          {retryable && (
            <button
              class="btn btn-primary"
              onClick={() => void retry()}
              disabled={busy !== null}
              data-action="retry"
            >
              {busy === 'retry' ? 'Retrying…' : `Retry ${fmt.int(c.failed + c.expired)} failed`}
            </button>
          )}
          {open && (
            <button
              class="btn btn-danger"
              onClick={() => void cancel()}
              disabled={busy !== null}
              data-action="cancel"
            >
              {busy === 'cancel' ? 'Cancelling…' : 'Cancel batch'}
            </button>
          )}
        </div>
      </header>

      {error && (
        <div class="alert alert-error" role="alert">
          {error}
        </div>
      )}
      {notice && !isTerminalBatchStatus(batch.status) && (
        <div class="alert alert-info">{notice}</div>
      )}

      <section class="card progress-card">
        <div class="progress-head">
          <span class="big" data-field="ended">
            {fmt.int(ended)} <span class="muted">/ {fmt.int(c.total)} items ended</span>
          </span>
          <span class="legend">
            <span class="key key-completed" /> {fmt.int(c.completed)} completed
            <span class="key key-failed" /> {fmt.int(c.failed)} failed
            <span class="key key-expired" /> {fmt.int(c.expired)} expired
            <span class="key key-cancelled" /> {fmt.int(c.cancelled)} cancelled
          </span>
        </div>
        <ProgressBar counts={c} large />
      </section>

      <section class="stat-grid">
        {cards.map(([label, value, hint]) => (
          <div class="card stat">
            <div class="stat-label">{label}</div>
            <div class="stat-value">{value}</div>
            {hint && <div class="stat-hint">{hint}</div>}
          </div>
        ))}
      </section>

      <section class="card">
        <h2>Throughput over time</h2>
        {stats ? (
          <ThroughputChart stats={stats} ended={isTerminalBatchStatus(batch.status)} />
        ) : (
          <div class="chart-empty">Loading…</div>
        )}
      </section>

      <section class="chart-pair">
        <div class="card">
          <h2>Forwards per item</h2>
          <p class="muted small">
            Denoising steps each completed item took: fewer means the sampler committed more tokens
            per step.
          </p>
          {stats ? (
            <HistogramChart
              name="forwards"
              histogram={stats.forwards_per_item}
              label="forwards"
              {...forwardsColors}
            />
          ) : (
            <div class="chart-empty">Loading…</div>
          )}
        </div>
        <div class="card">
          <h2>Compute time per item</h2>
          <p class="muted small">From an item's first forward to its last, in milliseconds.</p>
          {stats ? (
            <HistogramChart
              name="compute"
              histogram={stats.compute_ms}
              label="compute time"
              unit="ms"
              {...computeColors}
            />
          ) : (
            <div class="chart-empty">Loading…</div>
          )}
        </div>
      </section>

      <section class="card table-card">
        <div class="card-head">
          <h2>Results preview</h2>
          <div class="segmented" role="group" aria-label="preview filter">
            {(['', 'completed', 'failed', 'expired', 'cancelled'] as PreviewFilter[]).map((f) => (
              <button
                class={filter === f ? 'on' : ''}
                onClick={() => setFilter(f)}
                aria-pressed={filter === f}
              >
                {f ? fmt.status(f) : 'all'}
              </button>
            ))}
          </div>
        </div>
        <ResultsTable items={items} />
        <p class="fine">
          First {PREVIEW_ROWS} items by index. The full results: Download results,{' '}
          <code>dllm results {fmt.shortId(batch.id)}…</code>, or{' '}
          <code>GET /v1/batches/:id/results</code>.
        </p>
      </section>

      <section class="card details">
        <h2>Details</h2>
        <dl class="kv">
          <dt>Model</dt>
          <dd>{batch.model}</dd>
          {batch.input_file_id && (
            <>
              <dt>Input file</dt>
              <dd data-field="input-file">
                <InputFile id={batch.input_file_id} />
              </dd>
            </>
          )}
          <dt>Parameters</dt>
          <dd>
            <code>
              <UserText text={JSON.stringify(batch.params)} />
            </code>
          </dd>
          <dt>Metadata</dt>
          <dd>
            {Object.keys(batch.metadata).length === 0
              ? '–'
              : Object.entries(batch.metadata).map(([k, v]) => (
                  <span class="tag">
                    <UserText text={`${k}=${v}`} />
                  </span>
                ))}
          </dd>
          <dt>Created</dt>
          <dd>{new Date(batch.created_at).toLocaleString()}</dd>
          <dt>Started</dt>
          <dd>{batch.in_progress_at ? new Date(batch.in_progress_at).toLocaleString() : '–'}</dd>
          <dt>Ended</dt>
          <dd>{endedAt(batch) ? new Date(endedAt(batch)!).toLocaleString() : '–'}</dd>
          <dt>Expires</dt>
          <dd>{batch.expires_at ? new Date(batch.expires_at).toLocaleString() : '–'}</dd>
        </dl>
      </section>
    </div>
  );
}

/** An input file by its name (fetched once), with its id. */
function InputFile({ id }: { id: string }) {
  const [name, setName] = useState<string | null>(null);
  useEffect(() => {
    api
      .get<{ filename: string }>(`/v1/files/${id}`)
      .then((f) => setName(f.filename))
      .catch(() => setName(null));
  }, [id]);
  return (
    <>
      {name !== null && (
        <span class="file-name">
          <UserText text={name} />
        </span>
      )}{' '}
      <span class="mono muted">{id}</span>
    </>
  );
}

const endedAt = (b: Batch): string | null =>
  b.completed_at ?? b.failed_at ?? b.cancelled_at ?? b.expired_at;

function statCards(b: Batch): [string, string, string?][] {
  const t = b.timing;
  return [
    [
      'Throughput',
      t.tokens_per_second === null ? '–' : `${fmt.num(t.tokens_per_second, 0)} tok/s`,
      'over wall time since the first item started',
    ],
    ['Tokens generated', fmt.int(t.tokens), `${fmt.int(b.usage.prompt_tokens)} prompt tokens`],
    ['Forwards per item', fmt.num(t.mean_forwards_per_item, 1), 'mean over items with timings'],
    ['Wall time', fmt.ms(t.wall_ms), `${fmt.ms(t.compute_ms)} compute, summed over items`],
    ['Queue wait', fmt.ms(t.mean_queue_ms), 'mean, from submission to first forward'],
  ];
}

function ResultsTable({ items }: { items: Item[] | null }) {
  if (items === null) return <div class="chart-empty">Loading…</div>;
  if (items.length === 0) return <div class="chart-empty">No item in this view.</div>;
  return (
    <table class="table results-table">
      <thead>
        <tr>
          <th class="num">#</th>
          <th>custom_id</th>
          <th>Status</th>
          <th>Input</th>
          <th>Output</th>
          <th class="num">Forwards</th>
          <th class="num">Tokens</th>
          <th class="num">Compute</th>
        </tr>
      </thead>
      <tbody>
        {items.map((i) => (
          <tr data-custom-id={i.custom_id}>
            <td class="num muted">{i.index}</td>
            <td class="mono">
              <UserText text={i.custom_id} />
            </td>
            <td>
              <StatusBadge status={i.status} />
            </td>
            <td>
              <pre class="code code-input">
                <UserText text={i.prompt ?? `${i.prefix ?? ''}▁▁▁${i.suffix ?? ''}`} />
              </pre>
            </td>
            <td>
              {i.error ? (
                <span class="text-failed">
                  <UserText text={i.error} />
                </span>
              ) : i.output !== null ? (
                <pre class="code">
                  <UserText text={i.output.replace(/^\s*\n/, '')} />
                </pre>
              ) : (
                <span class="muted">–</span>
              )}
            </td>
            <td class="num">{fmt.int(i.steps)}</td>
            <td class="num">{fmt.int(i.tokens)}</td>
            <td class="num">{fmt.ms(i.compute_ms)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
