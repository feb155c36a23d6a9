import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MASK_PLACEHOLDER } from '@dllm/engine';
import {
  generationChannel,
  INTERACTIVE_QUEUE,
  type BatchProgressRepository,
  type GenerationEvent,
  type InteractiveJobData,
} from '@dllm/shared';
import type { CancelWatcher } from '../cancel-watcher';
import { ChunkProcessor, type ChunkSummary, type GenerationEngine } from '../chunk-processor';
import type { WorkerMetrics } from '../metrics';
import { ResultWriter } from '../result-writer';

export interface InteractiveConsumerOptions {
  connect: () => Redis;
  prefix: string;
  concurrency: number;
  lockMs: number;
  stalledCheckMs: number;
  maxStalled: number;
  engine: GenerationEngine;
  progress: Pick<BatchProgressRepository, 'claimItems' | 'finishItems'>;
  cancels: Pick<CancelWatcher, 'track'>;
  workerId: string;
  log: Logger;
  metrics?: WorkerMetrics;
}

/** The text before the first masked position: committed, so it can no longer change. */
export function settledText(canvas: string): string {
  const masked = canvas.indexOf(MASK_PLACEHOLDER);
  return masked < 0 ? canvas : canvas.slice(0, masked);
}

/**
 * Consumes the interactive queue (POST /v1/completions and /v1/chat/completions) beside the bulk
 * chunks, with slots of its own, so a request never waits behind queued bulk chunks; in the engine
 * its row takes the next free slot ahead of waiting bulk rows (priority 1), then shares the
 * forwards with them. A job is a one-item chunk run by the same ChunkProcessor;
 * when the request streams, every canvas the engine reports is published on the batch's
 * generation channel, and "ended" once the outcome is written (results are flushed at once: a
 * person waits for them).
 */
export class InteractiveConsumer {
  private worker: Worker<InteractiveJobData> | undefined;
  private readonly connections: Redis[] = [];
  private readonly running = new Set<ChunkProcessor>();
  private readonly writer: ResultWriter;

  constructor(private readonly opts: InteractiveConsumerOptions) {
    this.writer = new ResultWriter((outcomes) => opts.progress.finishItems(outcomes), {
      maxRows: 16,
      flushMs: 1,
      attempts: 5,
      backoffMs: 100,
      onRetry: (err, attempt) =>
        opts.log.warn({ err: err.message, attempt }, 'interactive result write failed; retrying'),
    });
  }

  start(): void {
    const [consumer, publisher] = [this.opts.connect(), this.opts.connect()];
    this.connections.push(consumer, publisher);
    const worker = new Worker<InteractiveJobData>(
      INTERACTIVE_QUEUE,
      (job, token) => this.process(job, publisher, token),
      {
        connection: consumer,
        prefix: this.opts.prefix,
        concurrency: this.opts.concurrency,
        lockDuration: this.opts.lockMs,
        stalledInterval: this.opts.stalledCheckMs,
        maxStalledCount: this.opts.maxStalled,
      },
    );
    worker.on('failed', (job, err) => void this.onFailed(job, err, publisher));
    worker.on('error', (err) =>
      this.opts.log.error({ err: err.message }, 'interactive queue error'),
    );
    this.worker = worker;
  }

  /** Stops taking requests; past `drainMs` the running rows are handed back to the queue. */
  async stop(drainMs: number): Promise<void> {
    if (!this.worker) return;
    const closed = this.worker.close();
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), drainMs).unref());
    if ((await Promise.race([closed, timeout])) === 'timeout') {
      for (const processor of this.running) processor.handBackAll();
      await closed;
    }
    await this.writer.flush();
    for (const c of this.connections) c.disconnect();
  }

  private async process(
    job: Job<InteractiveJobData>,
    publisher: Redis,
    token?: string,
  ): Promise<ChunkSummary> {
    const publish = this.publisher(publisher, job.data.batchId);
    const engine: GenerationEngine = {
      // the row takes the engine's next free slot, ahead of waiting bulk rows
      generate: (request, options) =>
        this.opts.engine.generate(request, {
          ...options,
          priority: 1,
          onIntermediate: job.data.stream
            ? (s) =>
                publish({
                  type: 'canvas',
                  step: s.step,
                  text: s.text,
                  masked: s.masked,
                  settled: settledText(s.text),
                })
            : undefined,
        }),
    };
    const processor = new ChunkProcessor({ ...this.opts, engine, writer: this.writer });
    this.running.add(processor);
    try {
      return await processor.process(job, token);
    } finally {
      this.running.delete(processor);
      publish({ type: 'ended' });
    }
  }

  /** Retries spent: the item fails with the reason, so the waiting request answers at once. */
  private async onFailed(
    job: Job<InteractiveJobData> | undefined,
    err: Error,
    publisher: Redis,
  ): Promise<void> {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const { batchId } = job.data;
    try {
      await this.opts.progress.finishItems([
        {
          batchId,
          index: 0,
          status: 'failed',
          error: `failed after ${job.attemptsMade} attempt(s): ${err.message}`,
        },
      ]);
      this.publisher(publisher, batchId)({ type: 'ended' });
    } catch (error) {
      this.opts.log.error(
        { batch_id: batchId, err: (error as Error).message },
        'could not fail an interactive item',
      );
    }
  }

  private publisher(redis: Redis, batchId: string): (event: GenerationEvent) => void {
    const channel = generationChannel(this.opts.prefix, batchId);
    return (event) => {
      // best effort: the API also rereads Postgres, so a lost message only costs latency
      redis
        .publish(channel, JSON.stringify(event))
        .catch((err: Error) =>
          this.opts.log.warn(
            { batch_id: batchId, err: err.message },
            'generation event not published',
          ),
        );
    };
  }
}
