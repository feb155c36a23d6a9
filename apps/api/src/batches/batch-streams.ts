import { once } from 'node:events';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { isTerminalBatchStatus, type BatchEntity, type Config } from '@dllm/shared';
import { CONFIG } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { batchView, openAiResultLine, resultLine } from './batch-view';
import { BatchWatcher } from './batch-watcher';
import { BatchesRepository } from './batches.repository';

/** Rows per read while streaming results: memory stays flat whatever the batch size. */
const RESULTS_PAGE = 1000;

/** Long responses: the JSONL results download and the SSE progress stream. */
@Injectable()
export class BatchStreams implements BeforeApplicationShutdown {
  /** One per open stream: shutdown ends them, or the HTTP server would wait for their clients. */
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly batches: BatchesRepository,
    private readonly watcher: BatchWatcher,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.abort();
  }

  /** Aborted when the client goes away or the process shuts down. */
  private track(res: HttpResponse): AbortController {
    const stream = new AbortController();
    this.open.add(stream);
    res.once('close', () => {
      stream.abort();
      this.open.delete(stream);
    });
    return stream;
  }

  /**
   * Ended items ordered by index, one JSON line each, read page by page (keyset on index) and
   * written with backpressure, so 100,000 results never sit in memory at once.
   */
  async results(
    batch: BatchEntity,
    format: 'default' | 'openai',
    req: HttpRequest,
    res: HttpResponse,
  ): Promise<void> {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="batch_${batch.id}_results.jsonl"`);
    const closed = this.track(res);
    let after = -1;
    for (;;) {
      const page = await this.batches.resultsPage(batch.id, after, RESULTS_PAGE);
      if (page.length === 0 || closed.signal.aborted) break;
      let chunk = '';
      for (const item of page) {
        chunk +=
          JSON.stringify(format === 'openai' ? openAiResultLine(item, batch) : resultLine(item)) +
          '\n';
      }
      after = page[page.length - 1]!.index;
      if (!res.write(chunk)) {
        try {
          await once(res, 'drain', { signal: closed.signal });
        } catch {
          break; // the client went away
        }
      }
      if (page.length < RESULTS_PAGE) break;
    }
    // Cut short (shutdown), the download must not look complete: destroy instead of end.
    if (closed.signal.aborted) res.destroy();
    else res.end();
    req.log?.debug({ batch_id: batch.id, format }, 'results streamed');
  }

  /**
   * Server-sent events: `progress` whenever the batch row changes (BatchWatcher rereads a
   * watched batch when its events say it changed, at most once per SSE_POLL_MS), then `done`
   * with the final state, and the stream ends.
   *
   * Bounded buffering: an event is written only once the previous one left the socket buffer;
   * meanwhile newer states replace the pending one (a client needs the latest, not each). A
   * reader that takes nothing for SSE_SLOW_READER_MS is cut off.
   */
  async events(batch: BatchEntity, req: HttpRequest, res: HttpResponse): Promise<void> {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx: pass events through unbuffered
    res.flushHeaders();
    const closed = this.track(res);

    let lastSignature = '';
    let eventId = 0;
    let pending: BatchEntity | null = batch;
    let stalled: NodeJS.Timeout | undefined;
    let lastWrite = Date.now();
    const finished = new Promise<void>((resolve) =>
      closed.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    const end = (destroy = false) => {
      if (closed.signal.aborted) return;
      if (destroy) res.destroy();
      else res.end();
      closed.abort();
    };
    const write = (chunk: string) => {
      if (closed.signal.aborted || res.writableEnded) return; // ended by a key revocation
      lastWrite = Date.now();
      if (res.write(chunk)) return;
      stalled = setTimeout(() => {
        req.log?.info({ batch_id: batch.id }, 'progress stream closed: its reader is too slow');
        end(true);
      }, this.config.SSE_SLOW_READER_MS);
      res.once('drain', () => {
        clearTimeout(stalled);
        stalled = undefined;
        flush();
      });
    };
    const flush = () => {
      if (closed.signal.aborted || stalled || !pending) return;
      const current = pending;
      pending = null;
      const signature = progressSignature(current);
      const ended = isTerminalBatchStatus(current.status);
      if (signature === lastSignature && !ended) return;
      lastSignature = signature;
      write(
        `id: ${++eventId}\nevent: ${ended ? 'done' : 'progress'}\ndata: ${JSON.stringify(batchView(current))}\n\n`,
      );
      if (ended) end();
    };
    const unwatch = this.watcher.watch(batch.id, (next) => {
      if (!next) return end();
      pending = next;
      flush();
    });
    const heartbeat = setInterval(
      () => {
        if (!stalled && Date.now() - lastWrite >= this.config.SSE_HEARTBEAT_MS)
          write(': keep-alive\n\n');
      },
      Math.min(this.config.SSE_HEARTBEAT_MS, 1000),
    );
    flush();
    await finished;
    unwatch();
    clearInterval(heartbeat);
    clearTimeout(stalled);
    // The client reconnects on its own (EventSource) when a shutdown ends the stream.
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** What a client watches change: status and counters (wall-clock figures change every read). */
function progressSignature(b: BatchEntity): string {
  return [
    b.status,
    b.completedCount,
    b.failedCount,
    b.cancelledCount,
    b.expiredCount,
    b.totalTokens,
    b.enqueuedAt?.getTime(),
  ].join('|');
}
