/**
 * The wire contract: what the API sends and its clients (CLI, dashboard, benchmarks, tests) read.
 * Types, constants and the SSE parser only, with no dependency: any of them may import it, and
 * a change here is a change of the public API.
 */
export * from './batch';
export * from './events';
export * from './sse';
export * from './statuses';
