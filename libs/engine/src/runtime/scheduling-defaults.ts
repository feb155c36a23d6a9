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
