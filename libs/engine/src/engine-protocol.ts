import type {
  EngineOptions,
  GenerationRequest,
  GenerationResult,
  IntermediateState,
} from './types';
import type { StepStats } from './scheduler/scheduler';

/** Messages between the main thread (Engine) and the inference thread (engine-thread.ts). */
export type ToThread =
  | {
      type: 'generate';
      id: string;
      request: GenerationRequest;
      wantIntermediate: boolean;
      priority?: number;
    }
  | { type: 'cancel'; id: string }
  | { type: 'stats'; id: string }
  /** the budget controller's threshold for budget "auto" rows that start from now on */
  | { type: 'auto-threshold'; threshold: number | null }
  | { type: 'close' }
  /** fault injection: the thread throws an uncaught error (see Engine.injectThreadCrash) */
  | { type: 'crash' };

export interface EngineInfo {
  model: string;
  maxLength: number;
  vocabSize: number;
  /** the execution provider that runs the forwards */
  provider: string;
  /** the configured order */
  requestedProviders: string[];
  /** a GPU provider was requested and the engine runs on the cpu */
  fellBack: boolean;
  /** why each provider before `provider` failed, one line each */
  providerFailures: string[];
  /** nodes per onnxruntime provider in a profiled probe run (GPU sessions only) */
  placement: Record<string, number> | null;
  maxBatchRows: number;
  maxBatchTokens: number;
  /** where the batch limits come from: 'configuration', a benchmark result, or null (not measured) */
  batchLimitsMeasuredBy: string | null;
}

export interface EngineStats extends StepStats {
  active: number;
  waiting: number;
}

export type FromThread =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'fatal'; message: string }
  | { type: 'warning'; message: string }
  | { type: 'result'; id: string; result: GenerationResult }
  | { type: 'error'; id: string; name: string; message: string }
  | { type: 'intermediate'; id: string; state: IntermediateState }
  | { type: 'stats'; id: string; stats: EngineStats }
  | { type: 'closed' };

export type ThreadInit = Omit<EngineOptions, 'onWarning'>;
