import type { CacheMode, GenerationParamsInput, GenerationTask, PolicyName } from '@dllm/engine';
import type { Window, WindowShape } from './windows';

/** One evaluation task: how windows are cut and how a window becomes a request. */
export interface EvalTask {
  name: string;
  kind: 'infill' | 'continuation';
  shape: WindowShape;
}

/** Infill a masked middle span; continue a 64-token prompt by 32 tokens. All fit in 256 tokens. */
export const TASKS: readonly EvalTask[] = [
  ...[8, 16, 32].map((span): EvalTask => ({
    name: `infill-${span}`,
    kind: 'infill',
    shape: { before: 96, span, after: 64, minBefore: 16, minAfter: 16 },
  })),
  {
    name: 'continue-32',
    kind: 'continuation',
    shape: { before: 64, span: 32, after: 0, minBefore: 64, minAfter: 0 },
  },
];

/** A policy with one setting of its knob. */
export interface EvalSetting {
  policy: PolicyName;
  /** short label, e.g. "k=1", "tau=0.9" */
  setting: string;
  params: GenerationParamsInput;
}

/** fixed at one token per step, recomputing everything every step (vanilla): the reference every other setting is compared with */
export const REFERENCE: EvalSetting = {
  policy: 'fixed',
  setting: 'k=1 vanilla',
  params: { policy: 'fixed', tokens_per_step: 1, cache: 'none' },
};

/** Knob values span ~1 to ~6 tokens per forward on the bundled model, which is rarely confident. */
export const SETTINGS: readonly EvalSetting[] = [
  REFERENCE,
  ...[1, 2, 4].map((k): EvalSetting => ({
    policy: 'fixed',
    setting: `k=${k}`,
    params: { policy: 'fixed', tokens_per_step: k },
  })),
  ...[0.9, 0.5, 0.3, 0.25, 0.2, 0.1].map((t): EvalSetting => ({
    policy: 'threshold',
    setting: `tau=${t}`,
    params: { policy: 'threshold', threshold: t },
  })),
  ...[1, 2, 4].map((f): EvalSetting => ({
    policy: 'factor',
    setting: `f=${f}`,
    params: { policy: 'factor', factor: f },
  })),
  ...[1, 2, 4].map((g): EvalSetting => ({
    policy: 'entropy',
    setting: `gamma=${g}`,
    params: { policy: 'entropy', entropy_budget: g },
  })),
];

/**
 * Greedy with a fixed seed; continuation runs the full 32 tokens (end-of-text is not a stop). Every
 * setting but the reference runs with `cache` (default: what users get, `auto`).
 */
export function requestParams(
  task: EvalTask,
  setting: EvalSetting,
  seed: number,
  cache: CacheMode = 'auto',
): GenerationParamsInput {
  return {
    cache,
    ...setting.params,
    gen_length: task.shape.span,
    temperature: 0,
    seed,
    stop_at_eos: false,
  };
}

/** The request text for a window: prefix/suffix (infill) or prompt (continuation), decoded from its tokens. */
export function requestTask(
  task: EvalTask,
  w: Window,
  decode: (ids: number[]) => string,
): GenerationTask {
  return task.kind === 'infill'
    ? { prefix: decode(w.before), suffix: decode(w.after) }
    : { prompt: decode(w.before) };
}
