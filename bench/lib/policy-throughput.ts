import {
  Engine,
  type EngineOptions,
  parseGenerationParams,
  type EngineStats,
  type GenerationParamsInput,
  type GenerationResult,
} from '@dllm/engine';
import { callMixBetween, type CallMix } from './call-mix';
import { round } from './matmul-peak';
import { progress } from './timing';

export interface PolicySetting {
  label: string;
  params: GenerationParamsInput;
}

/** fixed k=1 first: it is the baseline the speedups are measured against. */
export const DEFAULT_POLICIES: PolicySetting[] = [
  { label: 'fixed k=1', params: { policy: 'fixed', tokens_per_step: 1 } },
  { label: 'fixed k=4', params: { policy: 'fixed', tokens_per_step: 4 } },
  { label: 'threshold 0.9', params: { policy: 'threshold', threshold: 0.9 } },
  { label: 'threshold 0.7', params: { policy: 'threshold', threshold: 0.7 } },
  { label: 'factor 1.0', params: { policy: 'factor', factor: 1 } },
  { label: 'entropy 0.3', params: { policy: 'entropy', entropy_budget: 0.3 } },
];

export interface PolicyPoint {
  policy: string;
  items: number;
  tokens: number;
  wallMs: number;
  tokensPerSec: number;
  /** tokens/s over fixed k=1's in the same scenario (wall clock: noisy on a shared machine) */
  speedup: number;
  /** fixed k=1's padded tokens forwarded per generated token over this policy's: the compute saved, noise-free */
  computeSpeedup: number;
  /** tokens (rows x padded length) the forwards computed */
  paddedTokens: number;
  /** mean NFE of a row */
  forwardsPerItem: number;
  /** tokens committed per row per forward it took part in */
  tokensPerRowForward: number;
  /** engine forwards (batched) and the mean rows in one */
  engineForwards: number;
  rowsPerForward: number;
  /** rows per step while rows still waited for a slot (the drain at the end left out); null: never saturated */
  rowsPerForwardSaturated: number | null;
  /** row-steps sat out waiting to share a refresh call */
  heldRowSteps: number;
  /** forward calls by graph and rows per call (a scheduler step may run a refresh and a step call) */
  callMix: CallMix;
  /** mean ms of one engine forward (onnxruntime) */
  forwardMs: number;
  /** (stepMs - forwardMs) / stepMs: sampling, batch building and bookkeeping inside the step */
  jsOverheadShare: number;
  /** (wall - stepMs) / wall: time outside scheduler steps (messages, event loop, idle) */
  outsideStepShare: number;
  meanPromptTokens: number;
}

export interface ScenarioOptions {
  modelDir: string;
  intraOpThreads: number;
  /** scheduler/runtime knobs (unset fields: the engine's defaults) */
  tuning?: Pick<EngineOptions, 'refreshHoldSteps' | 'refreshMinRows' | 'intraOpSpinning'>;
  maxBatchRows: number;
  prompts: string[];
  genLength: number;
  seed: number;
  policies: PolicySetting[];
}

/**
 * One Engine (worker thread, as in production) with `maxBatchRows`; every policy generates from the
 * same prompts, all submitted at once so the scheduler stays as full as `maxBatchRows` allows.
 * Rows run to gen_length (stop_at_eos off) so every policy produces the same number of tokens.
 */
export async function measurePolicies(
  label: string,
  opts: ScenarioOptions,
): Promise<PolicyPoint[]> {
  const engine = await Engine.start({
    modelDir: opts.modelDir,
    intraOpThreads: opts.intraOpThreads,
    maxBatchRows: opts.maxBatchRows,
    ...opts.tuning,
    onWarning: progress,
  });
  const points: PolicyPoint[] = [];
  try {
    // one untimed pass so the session's arena and shapes are warm before the baseline
    await runAll(
      engine,
      opts.prompts.slice(0, opts.maxBatchRows),
      { policy: 'fixed', tokens_per_step: 16 },
      opts,
    );
    for (const setting of opts.policies) {
      const before = await engine.stats();
      const t0 = performance.now();
      const results = await runAll(engine, opts.prompts, setting.params, opts);
      const wallMs = performance.now() - t0;
      const after = await engine.stats();
      const point = summarize(setting.label, results, wallMs, diff(after, before));
      point.callMix = callMixBetween(after, before);
      points.push(point);
      progress(
        `${label} ${setting.label}: ${point.tokensPerSec.toFixed(1)} tok/s, ${point.forwardsPerItem.toFixed(1)} forwards/item, ` +
          `${point.rowsPerForward.toFixed(1)} rows/forward, ${mixText(point.callMix)}, JS overhead ${(100 * point.jsOverheadShare).toFixed(1)}%`,
      );
    }
  } finally {
    await engine.close();
  }
  const base = points[0]!.tokensPerSec;
  const baseCost = points[0]!.paddedTokens / points[0]!.tokens;
  for (const p of points) {
    p.speedup = round(p.tokensPerSec / base, 3);
    p.computeSpeedup = round(baseCost / (p.paddedTokens / p.tokens), 3);
  }
  return points;
}

function runAll(
  engine: Engine,
  prompts: string[],
  params: GenerationParamsInput,
  opts: ScenarioOptions,
): Promise<GenerationResult[]> {
  return Promise.all(
    prompts.map((prompt, i) =>
      engine.generate({
        task: { prompt },
        params: parseGenerationParams({
          ...params,
          gen_length: opts.genLength,
          seed: opts.seed + i,
          stop_at_eos: false,
        }),
      }),
    ),
  );
}

const COUNTERS = [
  'steps',
  'forwardMs',
  'stepMs',
  'rowsInForwards',
  'paddedTokens',
  'saturatedSteps',
  'saturatedRows',
  'heldRows',
] as const;
type Counters = Record<(typeof COUNTERS)[number], number>;

function diff(a: EngineStats, b: EngineStats): Counters {
  return Object.fromEntries(COUNTERS.map((k) => [k, a[k] - b[k]])) as Counters;
}

function summarize(
  policy: string,
  results: GenerationResult[],
  wallMs: number,
  s: Counters,
): PolicyPoint {
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  const rowForwards = results.reduce((a, r) => a + r.steps, 0);
  return {
    policy,
    items: results.length,
    tokens,
    wallMs: round(wallMs, 1),
    tokensPerSec: round(tokens / (wallMs / 1000)),
    speedup: 1,
    computeSpeedup: 1,
    paddedTokens: s.paddedTokens,
    forwardsPerItem: round(rowForwards / results.length),
    tokensPerRowForward: round(tokens / rowForwards, 3),
    engineForwards: s.steps,
    rowsPerForward: round(s.rowsInForwards / s.steps),
    rowsPerForwardSaturated: s.saturatedSteps ? round(s.saturatedRows / s.saturatedSteps) : null,
    heldRowSteps: s.heldRows,
    callMix: {},
    forwardMs: round(s.forwardMs / s.steps),
    jsOverheadShare: round((s.stepMs - s.forwardMs) / s.stepMs, 4),
    outsideStepShare: round((wallMs - s.stepMs) / wallMs, 4),
    meanPromptTokens: round(results.reduce((a, r) => a + r.prompt_tokens, 0) / results.length),
  };
}

const mixText = (m: CallMix): string =>
  Object.entries(m)
    .map(([g, c]) => `${g} ${c.calls}x${c.rowsPerCall}`)
    .join(' ');
