import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  batchEventsKey,
  decodeEvent,
  isTerminalBatchStatus,
  type BatchEntity,
  type BatchEvent,
  type Config,
} from '@dllm/shared';
import type { Redis } from 'ioredis';
import { CONFIG } from '../../common/core.module';
import type { HttpRequest, HttpResponse } from '../../common/http';
import { BatchEventReader } from '../../events/batch-event-reader';
import { REDIS } from '../../redis/redis.module';
import { batchView } from '../batch-view';
import { BatchesRepository } from '../batches.repository';

/** Entries per read while replaying the stream of a batch that already ended. */
const FRAMES_PER_READ = 500;
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events of a batch's intermediate canvases: a `canvas` event per frame the workers
 * appended (items with intermediate_every > 0), then `done` with the batch once it ended.
 * Event ids are stream ids: a client that reconnects with Last-Event-ID continues where it was.
 * A live batch is followed through the process's one event reader (its batch-ended event comes
 * after every canvas in the stream); a batch that already ended is replayed from Redis and
 * closed from Postgres.
 */
@Injectable()
export class CanvasStream implements BeforeApplicationShutdown {
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly batches: BatchesRepository,
    private readonly events: BatchEventReader,
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
    const lastEventId = req.headers['last-event-id'];
    const cursor =
      typeof lastEventId === 'string' && /^\d+-\d+$/.test(lastEventId) ? lastEventId : '0-0';
    let lastWrite = Date.now();
    // Backpressure: once the socket buffer is full, frames wait here (not in Node's buffer) until
    // it drains; a reader that takes nothing for SSE_SLOW_READER_MS, or lets more than
    // CANVAS_BUFFER_KB pile up while live, is cut off (it resumes with Last-Event-ID, from Redis).
    let stalled: NodeJS.Timeout | undefined;
    let queued: string[] = [];
    let queuedBytes = 0;
    let live = false;
    const waiters: (() => void)[] = [];
    const cut = (why: string) => {
      if (closed.signal.aborted) return;
      req.log?.info({ batch_id: batch.id }, `canvas stream closed: ${why}`);
      res.destroy();
    };
    const write = (chunk: string) => {
      if (closed.signal.aborted || res.writableEnded) return; // ended by a key revocation
      lastWrite = Date.now();
      if (stalled) {
        queued.push(chunk);
        queuedBytes += Buffer.byteLength(chunk);
        if (live && queuedBytes > this.config.CANVAS_BUFFER_KB * 1024)
          cut('its reader fell more than CANVAS_BUFFER_KB behind');
        return;
      }
      if (res.write(chunk)) return;
      stalled = setTimeout(
        () => cut('its reader is too slow (SSE_SLOW_READER_MS)'),
        this.config.SSE_SLOW_READER_MS,
      );
      res.once('drain', () => {
        clearTimeout(stalled);
        stalled = undefined;
        const backlog = queued;
        queued = [];
        queuedBytes = 0;
        for (const c of backlog) write(c);
        if (!stalled) for (const wake of waiters.splice(0)) wake();
      });
    };
    /** Resolves once nothing waits to be written (or the stream closed). */
    const drained = () =>
      stalled && !closed.signal.aborted
        ? new Promise<void>((resolve) => waiters.push(resolve))
        : Promise.resolve();
    closed.signal.addEventListener('abort', () => {
      clearTimeout(stalled);
      queued = [];
      for (const wake of waiters.splice(0)) wake();
    });
    const canvas = (id: string, event: BatchEvent) => {
      if (event.type === 'canvas') {
        write(`id: ${id}\nevent: canvas\ndata: ${JSON.stringify(event.frame)}\n\n`);
      }
    };
    const done = (ended: BatchEntity) =>
      write(`event: done\ndata: ${JSON.stringify(batchView(ended))}\n\n`);
    const heartbeat = setInterval(() => {
      if (Date.now() - lastWrite >= HEARTBEAT_MS) write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    try {
      if (isTerminalBatchStatus(batch.status)) {
        await this.replay(batch.id, cursor, canvas, drained, closed.signal);
        done(batch);
      } else {
        live = true;
        await this.follow(batch, cursor, canvas, done, closed.signal);
      }
    } catch (error) {
      if (!closed.signal.aborted) {
        // Headers are sent: say what went wrong in the stream itself, then end it.
        req.log?.warn(
          { err: (error as Error).message, batch_id: batch.id },
          'canvas stream failed',
        );
        write(
          `event: error\ndata: ${JSON.stringify({ message: 'the canvas stream is unavailable (Redis)' })}\n\n`,
        );
      }
    } finally {
      clearInterval(heartbeat);
    }
    res.end();
  }

  /** Live: every event after `cursor` as it comes, until batch-ended (or the client leaves). */
  private async follow(
    batch: BatchEntity,
    cursor: string,
    canvas: (id: string, event: BatchEvent) => void,
    done: (ended: BatchEntity) => void,
    closed: AbortSignal,
  ): Promise<void> {
    let ended: (() => void) | undefined;
    const finished = new Promise<void>((resolve) => {
      ended = resolve;
      closed.addEventListener('abort', () => resolve(), { once: true });
    });
    let closing = false;
    const stop = await this.events.watch(batch.id, cursor, (event, id) => {
      canvas(id, event);
      if (event.type !== 'batch-ended' || closing) return;
      closing = true;
      void this.batches
        .findOwned(batch.id, batch.tenant)
        .then((now) => done(now ?? batch))
        .catch(() => done(batch))
        .finally(() => ended?.());
    });
    try {
      await finished;
    } finally {
      stop();
    }
  }

  /** A batch that has ended: its stream's remaining frames after `cursor`, page by page, as the reader takes them. */
  private async replay(
    batchId: string,
    cursor: string,
    canvas: (id: string, event: BatchEvent) => void,
    drained: () => Promise<void>,
    closed: AbortSignal,
  ): Promise<void> {
    const key = batchEventsKey(this.config.QUEUE_PREFIX, batchId);
    let after = cursor;
    while (!closed.aborted) {
      const entries = await this.redis.xrange(key, `(${after}`, '+', 'COUNT', FRAMES_PER_READ);
      for (const [id, fields] of entries) {
        const decoded = decodeEvent(fields);
        if (decoded) canvas(id, decoded.event);
        after = id;
      }
      if (entries.length < FRAMES_PER_READ) return;
      await drained(); // one page at most waits in memory
    }
  }
}
