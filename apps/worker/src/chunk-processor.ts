import type { Job } from 'bullmq';
import { WaitingError } from 'bullmq';
import type { Logger } from 'pino';
import { GenerationError, parseGenerationParams, type GenerateOptions, type GenerationRequest, type GenerationResult, type IntermediateState } from '@dllm/engine';
import type { BatchProgressRepository, ChunkJobData, Claim, ClaimedItem, ItemOutcome } from '@dllm/shared';
import type { CancelWatcher } from './cancel-watcher';
import type { CanvasRelay } from './canvas-relay';
import type { WorkerMetrics } from './metrics';
import type { ResultWriter } from './result-writer';

/** What the processor needs of the engine (the real Engine, or a stand-in in tests). */
export interface GenerationEngine {
  generate(request: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult>;
}

export interface ChunkSummary {
  batchId: string;
  chunk: number;
  items: number;
  completed: number;
  failed: number;
  cancelled: number;
  handedBack: number;
}

type ItemEnd = 'completed' | 'failed' | 'cancelled' | 'handed-back';

/**
 * Runs one chunk job: claim its unfinished items, run every row through the engine at once (the
 * engine batches them with other chunks' rows), write each result as it lands. An item that fails
 * for its own reason (too long, bad params) fails alone; an engine or database failure fails the
 * chunk so BullMQ retries it, and the retry only redoes items not yet written.
 */
export class ChunkProcessor {
  private readonly shutdown = new AbortController();

  constructor(
    private readonly deps: {
      progress: Pick<BatchProgressRepository, 'claimItems'>;
      engine: GenerationEngine;
      writer: Pick<ResultWriter, 'write'>;
      cancels: Pick<CancelWatcher, 'track'>;
      workerId: string;
      log: Logger;
      metrics?: WorkerMetrics;
      /** relays intermediate canvases of items with intermediate_every > 0 */
      canvases?: Pick<CanvasRelay, 'publish'>;
    },
  ) {}

  /** Shutdown past its drain: stop rows now and hand their chunks back to the queue. */
  handBackAll(): void {
    this.shutdown.abort(new Error('worker shutting down'));
  }

  async process(job: Job<ChunkJobData>, token?: string): Promise<ChunkSummary> {
    const { batchId, chunk, firstIndex, lastIndex } = job.data;
    const log = this.deps.log.child({ batch_id: batchId, chunk, job_id: job.id });
    const summary: ChunkSummary = { batchId, chunk, items: 0, completed: 0, failed: 0, cancelled: 0, handedBack: 0 };
    const claim = await this.deps.progress.claimItems(batchId, firstIndex, lastIndex, this.deps.workerId);
    if (!claim || claim.items.length === 0) {
      log.info({ status: claim?.status ?? 'missing' }, 'chunk has nothing to run');
      return summary;
    }
    summary.items = claim.items.length;
    const started = performance.now();
    const cancel = this.deps.cancels.track(batchId);
    const signal = AbortSignal.any([cancel.signal, this.shutdown.signal]);
    try {
      const ends = await Promise.all(claim.items.map((item) => this.runItem(batchId, claim, item, signal, cancel.signal)));
      for (const end of ends) summary[end === 'handed-back' ? 'handedBack' : end]++;
    } finally {
      cancel.release();
    }
    this.deps.metrics?.chunkSeconds.observe((performance.now() - started) / 1000);
    if (summary.handedBack > 0) {
      // Unfinished rows stay in_progress in Postgres; put the job back so another worker takes it now.
      log.warn(summary, 'handing chunk back to the queue');
      await job.moveToWait(token);
      throw new WaitingError();
    }
    log.info(summary, 'chunk done');
    return summary;
  }

  private async runItem(batchId: string, claim: Claim, item: ClaimedItem, signal: AbortSignal, cancelled: AbortSignal): Promise<ItemEnd> {
    const base = { batchId, index: item.index, workerId: this.deps.workerId };
    let request: GenerationRequest;
    try {
      const task = item.prompt !== null ? { prompt: item.prompt } : { prefix: item.prefix ?? '', suffix: item.suffix ?? '' };
      request = { task, params: parseGenerationParams(item.params) };
    } catch (err) {
      return this.end({ ...base, status: 'failed', error: (err as Error).message });
    }
    const submitted = Date.now();
    let result: GenerationResult;
    try {
      const canvases = this.deps.canvases;
      const onIntermediate =
        canvases && request.params.intermediate_every > 0
          ? (state: IntermediateState) => canvases.publish(batchId, { index: item.index, ...state })
          : undefined;
      result = await this.deps.engine.generate(request, { signal, onIntermediate });
    } catch (err) {
      if (err instanceof GenerationError) return this.end({ ...base, status: 'failed', error: err.message });
      throw err; // the engine itself failed: retry the chunk
    }
    if (result.finish_reason === 'cancelled') {
      if (!cancelled.aborted) return 'handed-back';
      return this.end({ ...base, status: 'cancelled', steps: result.steps });
    }
    return this.end({
      ...base,
      status: 'completed',
      output: result.text,
      finishReason: result.finish_reason,
      steps: result.steps,
      tokens: result.tokens,
      promptTokens: result.prompt_tokens,
      // queue wait counts from submission of the batch, not from this worker's claim
      queueMs: Math.max(0, submitted - claim.createdAt.getTime()) + result.queue_ms,
      computeMs: result.compute_ms,
      seed: result.seed,
      provider: result.provider ?? null,
    });
  }

  private async end(outcome: ItemOutcome): Promise<ItemEnd> {
    await this.deps.writer.write(outcome);
    const status = outcome.status as 'completed' | 'failed' | 'cancelled';
    this.deps.metrics?.items.inc({ status });
    if (outcome.tokens) this.deps.metrics?.tokens.inc(outcome.tokens);
    return status;
  }
}
