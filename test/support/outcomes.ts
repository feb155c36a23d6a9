import type { ItemOutcome } from '@dllm/shared';

/** What a worker reports for an item it completed: small fixed figures, `extra` over them. */
export function completedOutcome(
  batchId: string,
  index: number,
  extra: Partial<Omit<ItemOutcome, 'batchId' | 'index' | 'status'>> = {},
): ItemOutcome {
  return {
    batchId,
    index,
    status: 'completed',
    output: 'x',
    finishReason: 'length',
    steps: 1,
    tokens: 1,
    promptTokens: 1,
    queueMs: 1,
    computeMs: 1,
    ...extra,
  };
}
