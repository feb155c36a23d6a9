import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  CANVAS_FRAME_FIELD,
  CANVAS_STREAM_LIMITS,
  canvasStreamKey,
  type CanvasFrame,
} from '@dllm/shared';

/**
 * Appends an item's intermediate canvases to its batch's Redis stream, for the API to relay
 * (GET /v1/batches/:id/canvas). Fire and forget: a lost frame must never slow or fail generation.
 */
export class CanvasRelay {
  private warned = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  publish(batchId: string, frame: CanvasFrame): void {
    const key = canvasStreamKey(this.prefix, batchId);
    this.redis
      .multi()
      .xadd(
        key,
        'MAXLEN',
        '~',
        CANVAS_STREAM_LIMITS.maxFrames,
        '*',
        CANVAS_FRAME_FIELD,
        JSON.stringify(frame),
      )
      .expire(key, CANVAS_STREAM_LIMITS.ttlSeconds)
      .exec()
      .catch((err: Error) => {
        if (this.warned) return;
        this.warned = true; // once per process: a Redis outage would otherwise log every step
        this.log.warn({ err: err.message, batch_id: batchId }, 'intermediate canvas not relayed');
      });
  }

  close(): void {
    this.redis.disconnect();
  }
}
