import type { BudgetMode, GenerationParams } from './params';
import type { GenerationTask } from './request/task';

/** What to generate: text after a prompt, or the middle between a prefix and a suffix. */
export type { GenerationTask } from './request/task';

export interface GenerationRequest {
  task: GenerationTask;
  params: GenerationParams;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerationResult {
  text: string;
  finish_reason: FinishReason;
  /** forwards this row took part in (NFE) */
  steps: number;
  /** tokens generated (committed canvas tokens kept in the output) */
  tokens: number;
  prompt_tokens: number;
  /** ms from submission until the row's first forward */
  queue_ms: number;
  /** ms from its first forward until it finished */
  compute_ms: number;
  /** the seed used (drawn at random when the request gave none) */
  seed: number;
  /** the step budget the row ran under, and the setting it actually ran with */
  budget: BudgetMode;
  /** threshold policy: the threshold used (budget auto: the controller's pick); other policies: null */
  applied_threshold: number | null;
  /** the forward cap it ran with (max_steps, default gen_length) */
  applied_max_steps: number;
  /** the execution provider that ran the row's forwards (set by the engine) */
  provider?: string;
}

/** The partially denoised canvas, reported every `intermediate_every` steps. */
export interface IntermediateState {
  step: number;
  text: string;
  masked: number;
}

export interface EngineOptions {
  modelDir: string;
  /** onnxruntime execution providers (webgpu, cuda, cpu), tried in order; falls back to cpu with a warning */
  executionProviders?: string[];
  /** no GPU provider works: fail to start instead of falling back to cpu */
  requireGpu?: boolean;
  intraOpThreads?: number;
  /** idle onnxruntime threads spin between runs (unset: the runtime default, spinning) */
  intraOpSpinning?: boolean;
  /** phase-aware refreshes (SchedulerOptions.refreshHoldSteps / refreshMinRows); unset: the scheduler's defaults */
  refreshHoldSteps?: number;
  refreshMinRows?: number;
  /** pack step calls to the row budget (SchedulerOptions.packStepCalls); unset: the engine default */
  packStepCalls?: boolean;
  /** rows run ahead of the row budget while packing (SchedulerOptions.packAheadRows); unset: the engine default */
  packAheadRows?: number;
  /** unset: the default for the provider in use (runtime/scheduling-defaults.ts) */
  maxBatchRows?: number;
  maxBatchTokens?: number;
  /** where warnings go (default: console.warn) */
  onWarning?: (message: string) => void;
}
