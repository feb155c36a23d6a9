import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  CANVAS_FRAME_FIELD,
  canvasStreamKey,
  isTerminalBatchStatus,
  type BatchEntity,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import { CONFIG } from '../../common/core.module';
import type { HttpRequest, HttpResponse } from '../../common/http';
import { REDIS } from '../../redis/redis.module';
import { batchView } from '../batch-view';
import { BatchesRepository } from '../batches.repository';

/** How often the stream is read while it has nothing new: a step of the bundled model takes ~10 ms. */
const READ_EVERY_MS = 100;
const FRAMES_PER_READ = 500;
/** Frames still in flight from the worker when the batch row says it ended. */
const SETTLE_MS = 300;
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events of a batch's intermediate canvases: a `canvas` event per frame the workers
 * appended (items with intermediate_every > 0), then `done` with the batch once it ended.
 * Event ids are stream ids: a client that reconnects with Last-Event-ID continues where it was.
 */
@Injectable()
export class CanvasStream implements BeforeApplicationShutdown {
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly batches: BatchesRepository,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.abort();
  }

  async relay(batch: BatchEntity, req: HttpRequest, res: HttpResponse): Promise<void> {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    const closed = new AbortController();
    this.open.add(closed);
    res.once('close', () => {
      closed.abort();
      this.open.delete(closed);
    });

    const key = canvasStreamKey(this.config.QUEUE_PREFIX, batch.id);
    const lastEventId = req.headers['last-event-id'];
    let cursor =
      typeof lastEventId === 'string' && /^\d+-\d+$/.test(lastEventId) ? lastEventId : '0-0';
    let lastWrite = Date.now();
    let lastStatusCheck = 0;
    let endedAt: number | null = null;
    let current: BatchEntity = batch;
    try {
      while (!closed.signal.aborted) {
        const reply = await this.redis.xread('COUNT', FRAMES_PER_READ, 'STREAMS', key, cursor);
        const entries = reply?.[0]?.[1] ?? [];
        let chunk = '';
        for (const [id, fields] of entries) {
          const at = fields.indexOf(CANVAS_FRAME_FIELD);
          if (at >= 0) chunk += `id: ${id}\nevent: canvas\ndata: ${fields[at + 1]}\n\n`;
          cursor = id;
        }
        if (chunk) {
          res.write(chunk);
          lastWrite = Date.now();
        }
        if (entries.length === FRAMES_PER_READ) continue; // more waiting: read on at once

        if (endedAt !== null && Date.now() - endedAt >= SETTLE_MS) {
          res.write(`event: done\ndata: ${JSON.stringify(batchView(current))}\n\n`);
          break;
        }
        if (endedAt === null && Date.now() - lastStatusCheck >= this.config.SSE_POLL_MS) {
          lastStatusCheck = Date.now();
          current = (await this.batches.findOwned(batch.id, batch.tenant)) ?? current;
          if (isTerminalBatchStatus(current.status)) endedAt = Date.now();
        }
        if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          res.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await sleep(READ_EVERY_MS, undefined, { signal: closed.signal });
      }
    } catch (error) {
      if (!closed.signal.aborted) {
        // Headers are sent: say what went wrong in the stream itself, then end it.
        req.log?.warn(
          { err: (error as Error).message, batch_id: batch.id },
          'canvas stream failed',
        );
        res.write(
          `event: error\ndata: ${JSON.stringify({ message: 'the canvas stream is unavailable (Redis)' })}\n\n`,
        );
      }
    }
    res.end();
  }
}
