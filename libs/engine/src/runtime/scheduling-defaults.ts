import type { ProviderName } from './execution-providers';

export interface BatchLimits {
  maxBatchRows: number;
  maxBatchTokens: number;
  /** where the numbers come from; null = not measured yet */
  measuredBy: string | null;
}

/**
 * Batch limits when the configuration sets none, by the provider actually in use. The cpu values
 * come from bench:engine on a 2-core machine (batching past 16 rows buys nothing there). The GPU
 * values are placeholders, NOT measured: no GPU was available yet; tools/gpu/check.sh measures
 * batch 1 to 64 on one and is how they should be chosen.
 */
export const SCHEDULING_DEFAULTS: Record<ProviderName, BatchLimits> = {
  cpu: {
    maxBatchRows: 16,
    maxBatchTokens: 4096,
    measuredBy: 'bench/results/engine-2026-11-27.json (2-core CPU)',
  },
  webgpu: { maxBatchRows: 64, maxBatchTokens: 16384, measuredBy: null },
  cuda: { maxBatchRows: 64, maxBatchTokens: 16384, measuredBy: null },
};

/** The configured limits where set, the provider's defaults otherwise. */
export function batchLimitsFor(
  provider: ProviderName,
  configured: { maxBatchRows?: number; maxBatchTokens?: number },
): BatchLimits & { fromConfig: { maxBatchRows: boolean; maxBatchTokens: boolean } } {
  const d = SCHEDULING_DEFAULTS[provider];
  return {
    maxBatchRows: configured.maxBatchRows ?? d.maxBatchRows,
    maxBatchTokens: configured.maxBatchTokens ?? d.maxBatchTokens,
    measuredBy:
      configured.maxBatchRows !== undefined && configured.maxBatchTokens !== undefined
        ? 'configuration'
        : d.measuredBy,
    fromConfig: {
      maxBatchRows: configured.maxBatchRows !== undefined,
      maxBatchTokens: configured.maxBatchTokens !== undefined,
    },
  };
}

/**
 * The engine's phase-aware refresh and spinning defaults when the configuration sets none. Chosen by
 * bench:scheduling-ab (192-token rows, threshold 0.5, 12 rows, 2-core CPU under heavy shared load):
 * holding refreshes (3 steps, 4 rows) gave 1.23-1.25x, spinning off 1.9x at batch 1 and more
 * saturated. Packing step calls with 4 rows run ahead (64-token rows, threshold 0.7, 16 rows, same
 * outputs): 15.98 rows per saturated step call against 14.39 unpacked, 157 step-cache copies per
 * round against 246; tokens/s 0.93x and 1.05x of unpacked in two runs (per-row cost is flat on
 * this CPU, so fuller calls cut calls, not time: the wall-clock gain is unsettled here). The Scheduler class itself defaults to no holding and no packing (its tests pin exact
 * call counts).
 */
export const ENGINE_TUNING_DEFAULTS = {
  refreshHoldSteps: 3,
  refreshMinRows: 4,
  packStepCalls: true,
  packAheadRows: 4,
  intraOpSpinning: false,
  measuredBy:
    'bench/results/scheduling-ab-2026-12-03.json, bench/results/scheduling-ab-2026-12-04-L64-pack-ahead.json',
} as const;
