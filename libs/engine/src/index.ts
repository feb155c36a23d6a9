// Public surface of the engine (model bundle, tokenizer, runtime, samplers, scheduler).
// Knows nothing of Nest, Redis, Postgres or HTTP. Light entry points that never load the
// runtime: '@dllm/engine/tokenizer' and '@dllm/engine/params' (the API uses only those).
export * from './params';
export * from './types';
export * from './tokenizer';
