/**
 * Intermediate canvases of items that ask for them (`intermediate_every` > 0): the worker appends
 * one frame per report to a Redis stream per batch, the API relays the stream as server-sent
 * events. A stream, not pub/sub, so a client that connects late still sees every step.
 */

/** One report of a row's partially denoised text; masked positions are MASK_PLACEHOLDER. */
export interface CanvasFrame {
  index: number;
  step: number;
  text: string;
  masked: number;
}

/** The Redis stream of a batch's frames (under the deployment's prefix, like its queue keys). */
export function canvasStreamKey(prefix: string, batchId: string): string {
  return `${prefix}:canvas:${batchId}`;
}

/** Bounds on a stream: frames kept (approximately; oldest dropped) and its lifetime after the last frame. */
export const CANVAS_STREAM_LIMITS = { maxFrames: 20_000, ttlSeconds: 3600 } as const;

/** The stream entry's one field, holding the frame as JSON. */
export const CANVAS_FRAME_FIELD = 'frame';
