import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { isTerminalBatchStatus, type BatchEntity, type Config } from '@dllm/shared';
import { CONFIG } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { batchView, openAiResultLine, resultLine } from './batch-view';
import { BatchesRepository } from './batches.repository';

/** Rows per read while streaming results: memory stays flat whatever the batch size. */
const RESULTS_PAGE = 1000;
/** An SSE comment this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

/** Long responses: the JSONL results download and the SSE progress stream. */
@Injectable()
export class BatchStreams implements BeforeApplicationShutdown {
  /** One per open stream: shutdown ends them, or the HTTP server would wait for their clients. */
  private readonly open = new Set<AbortController>();

  constructor(
    private readonly batches: BatchesRepository,
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
   * Server-sent events: `progress` whenever the batch row changes (re-read every SSE_POLL_MS,
   * which works whichever API replica the workers' writes land behind), then `done` with the
   * final state, and the stream ends.
   */
  async events(batch: BatchEntity, req: HttpRequest, res: HttpResponse): Promise<void> {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx: pass events through unbuffered
    res.flushHeaders();
    const closed = this.track(res);

    let current: BatchEntity | null = batch;
    let lastSignature = '';
    let lastWrite = Date.now();
    let eventId = 0;
    while (current && !closed.signal.aborted) {
      const signature = progressSignature(current);
      const ended = isTerminalBatchStatus(current.status);
      if (signature !== lastSignature || ended) {
        const event = ended ? 'done' : 'progress';
        res.write(
          `id: ${++eventId}\nevent: ${event}\ndata: ${JSON.stringify(batchView(current))}\n\n`,
        );
        lastSignature = signature;
        lastWrite = Date.now();
        if (ended) break;
      } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
        res.write(': keep-alive\n\n');
        lastWrite = Date.now();
      }
      try {
        await sleep(this.config.SSE_POLL_MS, undefined, { signal: closed.signal });
      } catch {
        break;
      }
      current = await this.batches.findOwned(batch.id, batch.tenant);
    }
    // The client reconnects on its own (EventSource) when a shutdown ends the stream.
    res.end();
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
