import { useEffect, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { api, ApiError } from '../api';
import { axis, barsPath, Chart, COLORS } from '../components/chart';
import { StatusBadge } from '../components/status-badge';
import { fmt } from '../format';
import { href } from '../router';
import type { BatchView as Batch, CanvasFrame, ItemView as Item, Page } from '@dllm/contract';

/** How the engine shows a still-masked position in an intermediate canvas. */
const MASK = '▒';
const POLICIES = {
  fixed: { param: 'tokens_per_step', label: 'Tokens per step', min: 1, max: 16, step: 1, value: 1 },
  // the engine's default: with the dual cache 4.1x vanilla's tokens/s at no loss of accuracy on
  // the bundled model (README, Benchmarks: bench/results/speed-*.json); lower values lose accuracy
  threshold: {
    param: 'threshold',
    label: 'Confidence threshold',
    min: 0.05,
    max: 1,
    step: 0.05,
    value: 0.9,
  },
  factor: { param: 'factor', label: 'Factor f', min: 0.25, max: 8, step: 0.25, value: 1 },
  entropy: {
    param: 'entropy_budget',
    label: 'Entropy budget (nats)',
    min: 0.05,
    max: 4,
    step: 0.05,
    value: 0.3,
  },
} as const;
type Policy = keyof typeof POLICIES;

interface Form {
  mode: 'continue' | 'infill';
  prompt: string;
  prefix: string;
  suffix: string;
  policy: Policy;
  knob: number;
  genLength: number;
  temperature: number;
  seed: string;
}

// The bundled model was trained on Python source only: a prompt that ends at a line break gives
// it nothing to continue but a comment, and greedy decoding then writes a screen of "#" lines.
const initial: Form = {
  mode: 'continue',
  prompt: 'def fibonacci(n):',
  prefix: 'def add(a, b):\n    ',
  suffix: '\n\nprint(add(1, 2))\n',
  policy: 'threshold',
  knob: POLICIES.threshold.value,
  genLength: 48,
  temperature: 0,
  seed: '7',
};

/**
 * One generation watched as it denoises: a one-item batch with intermediate_every = 1, its canvas
 * streamed from the worker step by step (GET /v1/batches/:id/canvas).
 */
export function Playground() {
  const [form, setForm] = useState<Form>(initial);
  const [frames, setFrames] = useState<CanvasFrame[]>([]);
  const [shown, setShown] = useState<number | null>(null);
  const [batch, setBatch] = useState<Batch | null>(null);
  const [item, setItem] = useState<Item | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stop = useRef<AbortController | null>(null);

  useEffect(() => () => stop.current?.abort(), []);

  const set = <K extends keyof Form>(key: K, value: Form[K]) =>
    setForm((f) => ({ ...f, [key]: value }));

  const generate = async (e: Event) => {
    e.preventDefault();
    stop.current?.abort();
    const controller = new AbortController();
    stop.current = controller;
    setFrames([]);
    setShown(null);
    setItem(null);
    setBatch(null);
    setError(null);
    setRunning(true);
    const policy = POLICIES[form.policy];
    const params: Record<string, unknown> = {
      policy: form.policy,
      gen_length: form.genLength,
      [policy.param]: form.knob,
      temperature: form.temperature,
      intermediate_every: 1,
    };
    if (form.seed.trim()) params.seed = Number(form.seed);
    const task =
      form.mode === 'continue'
        ? { prompt: form.prompt }
        : { prefix: form.prefix, suffix: form.suffix };
    try {
      const made = await api.post<Batch>('/v1/batches', {
        params,
        metadata: { source: 'playground' },
        items: [{ custom_id: 'playground', ...task }],
      });
      setBatch(made);
      await api.follow(
        `/v1/batches/${made.id}/canvas`,
        (event) => {
          if (event.event === 'canvas')
            setFrames((old) => [...old, JSON.parse(event.data) as CanvasFrame]);
          else if (event.event === 'done') setBatch(JSON.parse(event.data) as Batch);
          else if (event.event === 'error')
            setError((JSON.parse(event.data) as { message: string }).message);
        },
        controller.signal,
        (event) => event.event === 'done' || event.event === 'error',
      );
      const page = await api.get<Page<Item>>(`/v1/batches/${made.id}/items?limit=1`);
      const ended = page.data[0] ?? null;
      setItem(ended);
      if (ended?.error) setError(`the generation failed: ${ended.error}`);
    } catch (err) {
      if (!controller.signal.aborted) {
        const details =
          err instanceof ApiError && err.details.length
            ? `: ${err.details.map((d) => `${d.field}: ${d.message}`).join('; ')}`
            : '';
        setError(err instanceof ApiError ? `${err.message}${details}` : String(err));
      }
    } finally {
      if (!controller.signal.aborted) setRunning(false);
    }
  };

  const frame = shown !== null ? frames[shown] : frames[frames.length - 1];
  const policy = POLICIES[form.policy];
  const committed = frames.map((f, i) =>
    i === 0 ? form.genLength - f.masked : (frames[i - 1]?.masked ?? 0) - f.masked,
  );

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Playground</h1>
          <p class="muted">
            Watch one generation diffuse: the canvas starts fully masked and the sampler commits
            tokens step by step.
          </p>
          <ModelNote />
        </div>
      </header>
      <div class="playground">
        <form class="card playground-form" onSubmit={(e) => void generate(e)}>
          <div class="segmented" role="group" aria-label="task">
            <button
              type="button"
              class={form.mode === 'continue' ? 'on' : ''}
              onClick={() => set('mode', 'continue')}
            >
              Continue
            </button>
            <button
              type="button"
              class={form.mode === 'infill' ? 'on' : ''}
              onClick={() => set('mode', 'infill')}
            >
              Infill
            </button>
          </div>
          {form.mode === 'continue' ? (
            <label class="field">
              <span>Prompt</span>
              <textarea
                name="prompt"
                rows={5}
                class="code"
                value={form.prompt}
                onInput={(e) => set('prompt', (e.target as HTMLTextAreaElement).value)}
              />
            </label>
          ) : (
            <>
              <label class="field">
                <span>Before the gap</span>
                <textarea
                  name="prefix"
                  rows={3}
                  class="code"
                  value={form.prefix}
                  onInput={(e) => set('prefix', (e.target as HTMLTextAreaElement).value)}
                />
              </label>
              <label class="field">
                <span>After the gap</span>
                <textarea
                  name="suffix"
                  rows={3}
                  class="code"
                  value={form.suffix}
                  onInput={(e) => set('suffix', (e.target as HTMLTextAreaElement).value)}
                />
              </label>
            </>
          )}
          <div class="form-grid">
            <label class="field">
              <span>Policy</span>
              <select
                name="policy"
                value={form.policy}
                onChange={(e) => {
                  const p = (e.target as HTMLSelectElement).value as Policy;
                  setForm((f) => ({ ...f, policy: p, knob: POLICIES[p].value }));
                }}
              >
                <option value="fixed">fixed (k per step)</option>
                <option value="threshold">threshold (confidence)</option>
                <option value="factor">factor</option>
                <option value="entropy">entropy (EB)</option>
              </select>
            </label>
            <label class="field">
              <span>
                {policy.label} <b>{form.knob}</b>
              </span>
              <input
                name="knob"
                type="range"
                min={policy.min}
                max={policy.max}
                step={policy.step}
                value={form.knob}
                onInput={(e) => set('knob', Number((e.target as HTMLInputElement).value))}
              />
            </label>
            <label class="field">
              <span>
                Tokens to generate <b>{form.genLength}</b>
              </span>
              <input
                name="gen_length"
                type="range"
                min={4}
                max={128}
                step={4}
                value={form.genLength}
                onInput={(e) => set('genLength', Number((e.target as HTMLInputElement).value))}
              />
            </label>
            <label class="field">
              <span>
                Temperature <b>{form.temperature}</b>
              </span>
              <input
                name="temperature"
                type="range"
                min={0}
                max={1.5}
                step={0.1}
                value={form.temperature}
                onInput={(e) => set('temperature', Number((e.target as HTMLInputElement).value))}
              />
            </label>
            <label class="field">
              <span>Seed</span>
              <input
                name="seed"
                inputMode="numeric"
                value={form.seed}
                placeholder="random"
                onInput={(e) => set('seed', (e.target as HTMLInputElement).value)}
              />
            </label>
          </div>
          <button class="btn btn-primary btn-block" type="submit" disabled={running}>
            {running ? 'Generating…' : 'Generate'}
          </button>
          <p class="fine">
            Runs as a one-item batch through the queue and a worker, like any other; it appears in
            your history.
          </p>
        </form>

        <section class="card canvas-card">
          <div class="card-head">
            <h2>Canvas</h2>
            <div class="canvas-meta">
              {batch && <StatusBadge status={batch.status} />}
              {frame && (
                <span data-field="step">
                  step <b>{frame.step}</b> · <b>{frame.masked}</b> masked
                </span>
              )}
            </div>
          </div>
          {error && (
            <div class="alert alert-error" role="alert">
              {error}
            </div>
          )}
          <div class="canvas" data-field="canvas">
            {form.mode === 'continue' ? (
              <span class="canvas-prompt">{form.prompt}</span>
            ) : (
              <span class="canvas-prompt">{form.prefix}</span>
            )}
            {frame ? (
              <CanvasText text={frame.text} />
            ) : (
              <CanvasText text={MASK.repeat(running ? form.genLength : 0)} />
            )}
            {form.mode === 'infill' && <span class="canvas-prompt">{form.suffix}</span>}
            {!frame && !running && (
              <span class="muted canvas-hint">Press Generate to watch the canvas denoise.</span>
            )}
          </div>
          {frames.length > 1 && (
            <label class="field scrubber">
              <span>
                Replay: step {frame?.step} of {frames[frames.length - 1]!.step}
              </span>
              <input
                type="range"
                name="replay"
                min={0}
                max={frames.length - 1}
                value={shown ?? frames.length - 1}
                onInput={(e) => setShown(Number((e.target as HTMLInputElement).value))}
              />
            </label>
          )}
          {frames.length > 0 && (
            <>
              <h3>Tokens committed per step</h3>
              <CommittedChart frames={frames} committed={committed} />
            </>
          )}
          {item && (
            <dl class="kv kv-inline" data-field="result">
              <dt>Finish</dt>
              <dd>{item.finish_reason ?? item.status}</dd>
              <dt>Forwards</dt>
              <dd>{fmt.int(item.steps)}</dd>
              <dt>Tokens</dt>
              <dd>{fmt.int(item.tokens)}</dd>
              <dt>Tokens per forward</dt>
              <dd>{item.steps ? fmt.num((item.tokens ?? 0) / item.steps, 2) : '–'}</dd>
              <dt>Compute</dt>
              <dd>{fmt.ms(item.compute_ms)}</dd>
              <dt>Seed</dt>
              <dd>{item.seed ?? '–'}</dd>
            </dl>
          )}
          {batch && (
            <p class="fine">
              Batch{' '}
              <a class="mono" href={href(`/batches/${batch.id}`)}>
                {fmt.shortId(batch.id)}
              </a>
            </p>
          )}
        </section>
      </div>
    </div>
  );
}

/** What the bundled model is, so its output is read for what it is. */
const KNOWN_MODELS: Record<string, string> = {
  'dllm-code-small':
    'a 5M-parameter masked-diffusion model trained here from scratch on the Python standard library. It writes plausible-looking, often repetitive Python, not correct programs: prompt with code (a signature, a class, a docstring), not prose.',
};

interface ModelObject {
  id: string;
  max_length?: number;
}

/** The model this deployment serves (GET /v1/models) and, for the bundled one, what it is. */
function ModelNote() {
  const [models, setModels] = useState<ModelObject[] | null>(null);
  useEffect(() => {
    api
      .get<{ data: ModelObject[] }>('/v1/models')
      .then((list) => setModels(list.data))
      .catch(() => setModels([]));
  }, []);
  if (!models || models.length === 0) return null;
  return (
    <p class="model-note" data-field="model">
      {models.map((m) => (
        <span>
          Model <b>{m.id}</b>
          {m.max_length ? ` (${fmt.int(m.max_length)} tokens max)` : ''}
          {KNOWN_MODELS[m.id] ? `: ${KNOWN_MODELS[m.id]}` : '.'}{' '}
        </span>
      ))}
    </p>
  );
}

function CanvasText({ text }: { text: string }) {
  const parts = text.split(MASK);
  return (
    <span class="canvas-gen">
      {parts.map((part, i) => (
        <>
          {part}
          {i < parts.length - 1 && <span class="mask" />}
        </>
      ))}
    </span>
  );
}

function CommittedChart({ frames, committed }: { frames: CanvasFrame[]; committed: number[] }) {
  const data: uPlot.AlignedData = [frames.map((f) => f.step), committed];
  return (
    <Chart
      shape="committed"
      height={140}
      data={data}
      options={{
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: false, range: (_u, min, max) => [min - 0.6, max + 0.6] },
          y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.15] },
        },
        axes: [
          axis('step', (_u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : ''))),
          axis('tokens', (_u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : ''))),
        ],
        series: [
          {},
          {
            label: 'committed',
            stroke: COLORS.accent,
            fill: COLORS.accentBar,
            paths: barsPath,
            points: { show: false },
          },
        ],
      }}
    />
  );
}
