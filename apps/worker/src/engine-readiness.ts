import type { EngineInfo } from '@dllm/engine';

/**
 * The engine as /readyz reports it: which execution provider runs the forwards, what was asked
 * for, and whether a requested GPU fell back to the cpu (and why), so an operator sees it at once.
 */
export function engineReadiness(info: EngineInfo) {
  return {
    model: info.model,
    provider: info.provider,
    requested_providers: info.requestedProviders,
    gpu_fallback: info.fellBack,
    provider_failures: info.providerFailures,
    node_placement: info.placement,
    max_batch_rows: info.maxBatchRows,
    max_batch_tokens: info.maxBatchTokens,
    batch_limits_measured_by: info.batchLimitsMeasuredBy,
  };
}
