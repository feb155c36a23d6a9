// Public surface of the engine (model bundle, tokenizer, runtime, samplers, scheduler).
// Knows nothing of Nest, Redis, Postgres or HTTP. Light entry points that never load the
// runtime: '@dllm/engine/tokenizer', '@dllm/engine/params', '@dllm/engine/request' and
// '@dllm/engine/bundle/dllm-json' (the API uses only those).
export * from './params';
export {
  describeValue,
  formatIssues,
  taskOf,
  customIdSchema,
  itemSchema,
  foldTopLevelParams,
  paramFieldSchemas,
  requestJsonSchema,
  rowLengthProblem,
  modelParamsProblem,
  AR_IGNORED_PARAMS,
  type ModelShape,
  settledText,
  PromptBudget,
  MAX_CUSTOM_ID,
  type ItemInput,
  type RowLimits,
} from './request';
export {
  dllmJsonSchema,
  dllmJsonV3Schema,
  modelDefaultsSchema,
  readDllmJson,
  type DllmJson,
  type DllmJsonV3,
  type ModelDefaults,
  type ModelKind,
  type Topology,
} from './bundle/dllm-json';
export * from './types';
export * from './tokenizer';
export {
  Engine,
  EngineCrashedError,
  EngineStoppedError,
  EngineTimeoutError,
  type EngineHealth,
  type EngineSupervision,
  type GenerateOptions,
} from './engine';
export type { EngineInfo, EngineStats } from './engine-protocol';
export {
  loadModelBundle,
  BundleError,
  type ModelBundle,
  type AttentionTopology,
  type GraphLayout,
} from './bundle/model-bundle';
export { GenerationError, RowForwardError } from './errors';
export { MASK_PLACEHOLDER } from './sampler/row';
export { Scheduler, type SchedulerOptions, type StepStats } from './scheduler/scheduler';
export { OrtForward, type OrtForwardOptions } from './runtime/ort-forward';
export { OrtDecoderForward } from './runtime/ort-decoder-forward';
export { createOrtForward, type OrtForwardPass } from './runtime/create-forward';
export {
  createSession,
  parseProviders,
  ortNativeDir,
  describeAttempts,
  GpuUnavailableError,
  GPU_PROVIDERS,
  PROVIDERS,
  type CreateSessionOptions,
  type ProviderAttempt,
  type ProviderName,
  type ProviderSession,
  type OutputLocation,
  type WebGpuOptions,
} from './runtime/execution-providers';
export {
  diagnoseWebGpu,
  diagnoseCuda,
  type WebGpuDiagnosis,
  type CudaDiagnosis,
} from './runtime/gpu-diagnostics';
export {
  measureNodePlacement,
  placementFromProfile,
  type NodePlacement,
} from './runtime/node-placement';
export {
  SCHEDULING_DEFAULTS,
  batchLimitsFor,
  type BatchLimits,
} from './runtime/scheduling-defaults';
export type {
  ForwardPass,
  ForwardBatch,
  ForwardResult,
  RefreshBatch,
  RefreshResult,
  SpanBatch,
  StepBatch,
  DecodeBatch,
  DecodeResult,
} from './runtime/forward-pass';
