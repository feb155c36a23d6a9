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
import { median, progress } from './timing';

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
  /** median over rounds */
  tokensPerSec: number;
  /** tokens/s over fixed k=1's in the same scenario and round, median over rounds (wall clock: noisy on a shared machine) */
  speedup: number;
  /** per round (settings rotated each round): tokens/s and the ratio to fixed k=1 of that round */
  rounds: { tokensPerSec: number[]; speedup: number[] };
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
  /** rows per step call in those steps (the call the row budget is about); null: no such call */
  stepCallRowsSaturated: number | null;
  /** row-steps sat out waiting to share a refresh call */
  heldRowSteps: number;
  /** row-steps sat out because their call was at the row budget (packStepCalls) */
  satOutRowSteps: number;
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
  tuning?: Pick<
    EngineOptions,
    'refreshHoldSteps' | 'refreshMinRows' | 'packStepCalls' | 'packAheadRows' | 'intraOpSpinning'
  >;
  maxBatchRows: number;
  /** each policy runs once per round, in an order rotated per round (fixed k=1 runs every round) */
  rounds?: number;
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
    const rounds = opts.rounds ?? 1;
    const perRound: PolicyPoint[][] = opts.policies.map(() => []);
    for (let pass = 0; pass < rounds; pass++) {
      for (let j = 0; j < opts.policies.length; j++) {
        const i = (j + pass) % opts.policies.length;
        const setting = opts.policies[i]!;
        const before = await engine.stats();
        const t0 = performance.now();
        const results = await runAll(engine, opts.prompts, setting.params, opts);
        const wallMs = performance.now() - t0;
        const after = await engine.stats();
        const point = summarize(setting.label, results, wallMs, diff(after, before));
        point.callMix = callMixBetween(after, before);
        perRound[i]!.push(point);
        progress(
          `${label} round ${pass + 1}/${rounds} ${setting.label}: ${point.tokensPerSec.toFixed(1)} tok/s, ${point.forwardsPerItem.toFixed(1)} forwards/item, ` +
            `${point.rowsPerForward.toFixed(1)} rows/forward (saturated ${point.rowsPerForwardSaturated ?? '-'}, step calls ${point.stepCallRowsSaturated ?? '-'}), ` +
            `${mixText(point.callMix)}, JS overhead ${(100 * point.jsOverheadShare).toFixed(1)}%`,
        );
      }
    }
    // counts (forwards, rows, call mix) are the same every round; wall-clock figures are not
    const base = perRound[0]!;
    for (const runs of perRound) {
      const speedups = runs.map((p, r) => round(p.tokensPerSec / base[r]!.tokensPerSec, 3));
      const tps = runs.map((p) => p.tokensPerSec);
      points.push({
        ...runs[0]!,
        tokensPerSec: round(median(tps)),
        speedup: round(median(speedups), 3),
        rounds: { tokensPerSec: tps, speedup: speedups },
        wallMs: round(median(runs.map((p) => p.wallMs)), 1),
        forwardMs: round(median(runs.map((p) => p.forwardMs))),
        jsOverheadShare: round(median(runs.map((p) => p.jsOverheadShare)), 4),
        outsideStepShare: round(median(runs.map((p) => p.outsideStepShare)), 4),
      });
    }
  } finally {
    await engine.close();
  }
  const baseCost = points[0]!.paddedTokens / points[0]!.tokens;
  for (const p of points) p.computeSpeedup = round(baseCost / (p.paddedTokens / p.tokens), 3);
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
  'satOutRows',
] as const;
type Counters = Record<
  (typeof COUNTERS)[number] | 'saturatedStepCalls' | 'saturatedStepRows',
  number
>;

function diff(a: EngineStats, b: EngineStats): Counters {
  return {
    ...(Object.fromEntries(COUNTERS.map((k) => [k, a[k] - b[k]])) as Counters),
    saturatedStepCalls: a.saturatedForwards.step - b.saturatedForwards.step,
    saturatedStepRows: a.saturatedRowsByGraph.step - b.saturatedRowsByGraph.step,
  };
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
    rounds: { tokensPerSec: [], speedup: [] },
    computeSpeedup: 1,
    paddedTokens: s.paddedTokens,
    forwardsPerItem: round(rowForwards / results.length),
    tokensPerRowForward: round(tokens / rowForwards, 3),
    engineForwards: s.steps,
    rowsPerForward: round(s.rowsInForwards / s.steps),
    rowsPerForwardSaturated: s.saturatedSteps ? round(s.saturatedRows / s.saturatedSteps) : null,
    stepCallRowsSaturated: s.saturatedStepCalls
      ? round(s.saturatedStepRows / s.saturatedStepCalls)
      : null,
    heldRowSteps: s.heldRows,
    satOutRowSteps: s.satOutRows,
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
