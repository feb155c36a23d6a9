// Public surface of the engine (model bundle, tokenizer, runtime, samplers, scheduler).
// Knows nothing of Nest, Redis, Postgres or HTTP.
export {};
