import { SetMetadata } from '@nestjs/common';

export const CONCURRENCY = 'dllm:concurrency';

/**
 * What a route holds while it runs, counted per API key: MAX_CONCURRENT_UPLOADS, MAX_SSE_STREAMS,
 * MAX_CANVAS_STREAMS, MAX_CONCURRENT_COMPLETIONS. Every long-lived route takes one.
 */
export type ConcurrencyKind = 'uploads' | 'streams' | 'canvases' | 'completions';

/** The route takes one of the caller's `kind` slots until its response closes. */
export const LimitConcurrency = (kind: ConcurrencyKind) => SetMetadata(CONCURRENCY, kind);
