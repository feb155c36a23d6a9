// What a generation request looks like, without the runtime: the task, an item of a batch, the
// length rule and the error format. Pure (zod and the tokenizer only), so the API and the CLI
// validate with the very schema the engine runs by (import '@dllm/engine/request').
export * from './issues';
export * from './task';
export * from './item';
export * from './length-check';
export * from './canvas';
export * from './deadline';
export * from './model-rules';
