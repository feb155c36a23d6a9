import type { GenerationRequest, GenerationResult, IntermediateState } from '../types';

/** A submitted row's promise, waiting for the thread's answer. */
export interface Pending {
  resolve: (r: GenerationResult) => void;
  reject: (e: Error) => void;
  onIntermediate?: (s: IntermediateState) => void;
  cleanup: () => void;
}

/** A row not yet posted to the thread. */
export interface Held {
  id: string;
  request: GenerationRequest;
  alone: boolean;
  beforeStart?: () => Promise<void>;
  priority?: number;
  pending: Pending;
}

/** What a row cancelled before it ran resolves with. */
export function cancelledResult(): GenerationResult {
  return {
    text: '',
    finish_reason: 'cancelled',
    steps: 0,
    tokens: 0,
    prompt_tokens: 0,
    queue_ms: 0,
    compute_ms: 0,
    seed: 0,
    budget: 'fixed',
    applied_threshold: null,
    applied_max_steps: 0,
  };
}
