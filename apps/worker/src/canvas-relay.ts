import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BatchEventLog, type CanvasFrame } from '@dllm/shared';

/**
 * Appends an item's intermediate canvases to its batch's event stream, for the API to relay
 * (GET /v1/batches/:id/canvas, streamed completions). Fire and forget: a lost frame must never
 * slow or fail generation. Give it the connection the worker's BatchEventLog uses, so a batch's
 * canvases are in its stream before the item-ended and batch-ended events that follow them.
 */
export class CanvasRelay {
  private readonly events: BatchEventLog;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    log: Logger,
    /** CANVAS_RETENTION_S */
    ttlSeconds?: number,
  ) {
    this.events = new BatchEventLog(
      redis,
      prefix,
      undefined,
      (message, detail) => log.warn(detail, message),
      ttlSeconds,
    );
  }

  publish(batchId: string, frame: CanvasFrame): void {
    this.events.canvas(batchId, frame);
  }

  close(): void {
    this.redis.disconnect();
  }
}
