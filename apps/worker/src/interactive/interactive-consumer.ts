import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import {
  openConsumer,
  type BatchProgressRepository,
  type Config,
  type InteractiveJobData,
  type QueueConsumer,
} from '@dllm/shared';
import type { CancelWatcher } from '../cancel-watcher';
import type { CanvasRelay } from '../canvas-relay';
import type { IsolationLane } from '../isolation-lane';
import { ChunkProcessor, type ChunkSummary, type GenerationEngine } from '../chunk-processor';
import type { ModelMetrics } from '../metrics';
import { ResultWriter } from '../result-writer';

export interface InteractiveConsumerOptions {
  /** the queue's options come from its row in the queue table (QUEUES.interactive) */
  config: Config;
  /** the model whose interactive queue this consumes (its engine's) */
  model: string;
  /** the model renders chat with its own template (see ChunkProcessor) */
  chatTemplate?: boolean;
  engine: GenerationEngine;
  progress: Pick<BatchProgressRepository, 'claimItems' | 'countIsolatedRun' | 'finishItems'>;
  cancels: Pick<CancelWatcher, 'track'>;
  workerId: string;
  log: Logger;
  metrics?: ModelMetrics;
  /** where canvases go (the batch's Redis stream), for requests that stream */
  canvases?: Pick<CanvasRelay, 'publish'>;
  /** poison isolation, as for bulk chunks (ChunkProcessor) */
  poisonRuns: number;
  suspectAfterStalls: number;
  lane?: IsolationLane;
}

/**
 * Consumes the interactive queue (POST /v1/completions and /v1/chat/completions) beside the bulk
 * chunks, with slots of its own, so a request never waits behind queued bulk chunks; in the engine
 * its row takes the next free slot ahead of waiting bulk rows (priority 1), then shares the
 * forwards with them. A job is a one-item chunk run by the same ChunkProcessor, so a request that
 * streams (intermediate_every > 0) has its canvases relayed to its batch's Redis stream like any
 * item; results are flushed at once, as a person waits for them.
 */
export class InteractiveConsumer {
  private consumer: QueueConsumer<InteractiveJobData> | undefined;
  private readonly running = new Set<ChunkProcessor>();
  private readonly writer: ResultWriter;

  constructor(private readonly opts: InteractiveConsumerOptions) {
    this.writer = new ResultWriter((outcomes) => opts.progress.finishItems(outcomes), {
      maxRows: 16,
      flushMs: 0, // a person waits: written at once (results of the same turn share the write)
      attempts: 5,
      backoffMs: 100,
      onRetry: (err, attempt) =>
        opts.log.warn({ err: err.message, attempt }, 'interactive result write failed; retrying'),
    });
  }

  start(): void {
    const consumer = openConsumer<InteractiveJobData>(
      'interactive',
      this.opts.config,
      (job, token) => this.process(job, token),
      { model: this.opts.model },
    );
    const { worker } = consumer;
    worker.on('failed', (job, err) => void this.onFailed(job, err));
    worker.on('error', (err) =>
      this.opts.log.error({ err: err.message }, 'interactive queue error'),
    );
    this.consumer = consumer;
  }

  /** Stops taking requests; past `drainMs` the running rows are handed back to the queue. */
  async stop(drainMs: number): Promise<void> {
    if (!this.consumer) return;
    await this.consumer.close({
      drainMs,
      onTimeout: () => {
        for (const processor of this.running) processor.handBackAll();
      },
    });
    await this.writer.flush();
  }

  private async process(job: Job<InteractiveJobData>, token?: string): Promise<ChunkSummary> {
    const engine: GenerationEngine = {
      // the row takes the engine's next free slot, ahead of waiting bulk rows
      generate: (request, options) =>
        this.opts.engine.generate(request, { ...options, priority: 1 }),
    };
    const processor = new ChunkProcessor({ ...this.opts, engine, writer: this.writer });
    this.running.add(processor);
    try {
      return await processor.process(job, token);
    } finally {
      this.running.delete(processor);
    }
  }

  /** Retries spent: the item fails with the reason, so the waiting request answers at once. */
  private async onFailed(job: Job<InteractiveJobData> | undefined, err: Error): Promise<void> {
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
    } catch (error) {
      this.opts.log.error(
        { batch_id: batchId, err: (error as Error).message },
        'could not fail an interactive item',
      );
    }
  }
}
