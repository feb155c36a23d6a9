import type { BatchCounts, BatchView } from './batch';
import type { BatchOrigin, BatchStatus, TerminalItemStatus } from './statuses';

/** One report of a row's partially denoised text; masked positions are MASK_PLACEHOLDER. */
export interface CanvasFrame {
  index: number;
  step: number;
  text: string;
  masked: number;
}

/** How an item ended, as committed (the sync completion's reply is a fold over these). */
export interface ItemEnded {
  index: number;
  status: TerminalItemStatus;
  finish_reason: string | null;
  steps: number | null;
  tokens: number | null;
  prompt_tokens: number | null;
  queue_ms: number | null;
  compute_ms: number | null;
  seed: number | null;
  error: string | null;
  /** the generated text: only for interactive batches (a bulk batch's outputs stay in Postgres) */
  output?: string | null;
}

export interface BatchEnded {
  status: BatchStatus;
  origin: BatchOrigin;
  counts: BatchCounts;
}

/**
 * What a batch's Redis stream carries, in commit order (canvases come before their item's end):
 * the live event path between the writers (worker, API, repair loop) and the API's reader.
 */
export type BatchEvent =
  | { type: 'canvas'; frame: CanvasFrame }
  | { type: 'item-ended'; item: ItemEnded }
  /** a status change that did not end the batch (claimed, cancelling) */
  | { type: 'batch-changed'; status: BatchStatus }
  | { type: 'batch-ended'; ended: BatchEnded };

export type BatchEventType = BatchEvent['type'];

/**
 * GET /v1/batches/:id/events: `progress` whenever the batch changed, then `done` with its final
 * state; the stream ends after `done`.
 */
export type ProgressStreamEvent =
  { event: 'progress'; data: BatchView } | { event: 'done'; data: BatchView };

/**
 * GET /v1/batches/:id/canvas: a `canvas` per frame (the SSE id is the stream id, for
 * Last-Event-ID), then `done` with the batch; `error` when the stream cannot go on.
 */
export type CanvasStreamEvent =
  | { event: 'canvas'; data: CanvasFrame }
  | { event: 'done'; data: BatchView }
  | { event: 'error'; data: { message: string } };

/** The SSE event names after which a stream ends. */
export const FINAL_STREAM_EVENTS: readonly string[] = ['done', 'error'];
