import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { Engine } from '@dllm/engine';
import type { CatalogModel } from '@dllm/engine/bundle/model-catalog';
import {
  openChunkQueue,
  openConsumer,
  type BatchProgressRepository,
  type ChunkJobData,
  type Config,
  type OwnedQueue,
  type QueueConsumer,
} from '@dllm/shared';
import { BudgetLoop } from '@dllm/engine/budget';
import { QueuePeek } from './budget/queue-peek';
import type { CancelWatcher } from './cancel-watcher';
import type { CanvasRelay } from './canvas-relay';
import { ChunkProcessor } from './chunk-processor';
import { injectFaults } from './fault-injection';
import { InteractiveConsumer } from './interactive/interactive-consumer';
import { IsolationLane } from './isolation-lane';
import type { ModelMetrics, WorkerMetrics } from './metrics';
import type { ResultWriter } from './result-writer';

/** What every lane of a worker shares: one database, one result writer, one cancel watcher. */
export interface LaneDeps {
  config: Config;
  dataSource: DataSource;
  progress: BatchProgressRepository;
  writer: ResultWriter;
  cancels: CancelWatcher;
  canvases: CanvasRelay;
  workerId: string;
  log: Logger;
  metrics: WorkerMetrics;
  /** the engine cannot be kept alive: the worker exits for a restart */
  onFatal: (err: Error) => void;
}

/**
 * One model served by a worker: its engine (own thread, own weights), the consumer of its chunk
 * queue and of its interactive queue, its budget controller and isolation lane. A worker runs one
 * lane per model of WORKER_MODELS; the lanes share the database, the result writer and the
 * repair loop. Because each lane consumes only its model's queues, a chunk reaches only a worker
 * that has its model loaded.
 */
export class ModelLane {
  private constructor(
    readonly model: CatalogModel,
    /** this lane's figures, labelled with its model */
    readonly metrics: ModelMetrics,
    readonly engine: Engine,
    readonly processor: ChunkProcessor,
    /** its chunk queue's consumer (QUEUES.chunks: options and bounded drain) */
    readonly chunks: QueueConsumer<ChunkJobData>,
    readonly interactive: InteractiveConsumer,
    readonly budget: BudgetLoop,
    /** the model's chunk queue as a producer sees it (waiting chunks for the budget controller) */
    private readonly peekQueue: OwnedQueue,
  ) {}

  static async start(model: CatalogModel, deps: LaneDeps): Promise<ModelLane> {
    const { config } = deps;
    const metrics = deps.metrics.forModel(model.name);
    const log = deps.log.child({ model: model.name });
    const engine = await Engine.start(
      {
        modelDir: model.dir,
        executionProviders: config.ENGINE_EXECUTION_PROVIDERS,
        requireGpu: config.ENGINE_REQUIRE_GPU,
        intraOpThreads: config.ENGINE_INTRA_OP_THREADS,
        intraOpSpinning: config.ENGINE_INTRA_OP_SPINNING,
        refreshHoldSteps: config.ENGINE_REFRESH_HOLD_STEPS,
        refreshMinRows: config.ENGINE_REFRESH_MIN_ROWS,
        packStepCalls: config.ENGINE_PACK_STEP_CALLS,
        packAheadRows: config.ENGINE_PACK_AHEAD_ROWS,
        maxBatchRows: config.ENGINE_MAX_BATCH_ROWS,
        maxBatchTokens: config.ENGINE_MAX_BATCH_TOKENS,
        onWarning: (message) => log.warn({ component: 'engine' }, message),
      },
      {
        maxRestarts: config.ENGINE_MAX_RESTARTS,
        restartWindowMs: config.ENGINE_RESTART_WINDOW_MS,
        onThreadDeath: (err, restarting) => {
          log.error(
            { err: err.message, restarting },
            'engine thread died; its rows go back to their chunks',
          );
          metrics.engineUp(false);
          if (restarting) metrics.engineRestarted();
        },
        onFatal: (err) => {
          log.fatal({ err: err.message }, 'engine cannot be kept alive; exiting for a restart');
          deps.onFatal(err);
        },
      },
    );
    const { info } = engine;
    metrics.describeEngine(info);
    metrics.engineUp(true);
    log.info(
      {
        worker_id: deps.workerId,
        provider: info.provider,
        requested_providers: info.requestedProviders,
        max_batch_rows: info.maxBatchRows,
        max_batch_tokens: info.maxBatchTokens,
        batch_limits_measured_by: info.batchLimitsMeasuredBy,
        placement: info.placement,
      },
      'engine ready',
    );
    if (info.fellBack) {
      log.warn(
        {
          provider: info.provider,
          requested_providers: info.requestedProviders,
          failures: info.providerFailures,
        },
        'GPU requested but the engine runs on the cpu',
      );
    }
    const generator = injectFaults(config.FAULT_INJECTION, engine, log);
    const lane = new IsolationLane();
    const peekQueue = openChunkQueue(config, model.name, 'producer');
    const queuePeek = new QueuePeek(peekQueue, deps.dataSource, config.BATCH_CHUNK_SIZE);
    const budget = new BudgetLoop({
      engine,
      waiting: () => queuePeek.waiting(),
      model: info.model,
      log: log.child({ component: 'budget' }),
      metrics,
      intervalMs: config.BUDGET_INTERVAL_MS,
      relaxMargin: config.BUDGET_RELAX_MARGIN,
      planMargin: config.BUDGET_PLAN_MARGIN,
      relaxHoldMs: config.BUDGET_RELAX_HOLD_MS,
    });
    budget.start();
    const chatTemplate = model.chatTemplatePath !== null;
    const processor = new ChunkProcessor({
      progress: deps.progress,
      engine: generator,
      writer: deps.writer,
      cancels: deps.cancels,
      workerId: deps.workerId,
      log,
      metrics,
      canvases: deps.canvases,
      poisonRuns: config.ITEM_POISON_RUNS,
      suspectAfterStalls: config.WORKER_SUSPECT_STALLS,
      lane,
      budget,
      model: model.name,
      chatTemplate,
    });
    const chunks = openConsumer<ChunkJobData>(
      'chunks',
      config,
      (job: Job<ChunkJobData>, token?: string) => processor.process(job, token),
      { model: model.name, maxBatchRows: info.maxBatchRows },
    );
    const { worker } = chunks;
    worker.on('failed', (job, err) =>
      log.error(
        { job_id: job?.id, batch_id: job?.data.batchId, chunk: job?.data.chunk, err: err.message },
        'chunk failed',
      ),
    );
    worker.on('error', (err) => log.error({ err: err.message }, 'queue error'));
    worker.on('stalled', (jobId) => log.warn({ job_id: jobId }, 'chunk stalled; taken over'));

    // POST /v1/completions and chat: their own queue and slots, ahead of queued bulk chunks
    const interactive = new InteractiveConsumer({
      config,
      model: model.name,
      chatTemplate,
      engine: generator,
      progress: deps.progress,
      cancels: deps.cancels,
      workerId: deps.workerId,
      log: log.child({ queue: 'interactive' }),
      metrics,
      canvases: deps.canvases,
      poisonRuns: config.ITEM_POISON_RUNS,
      suspectAfterStalls: config.WORKER_SUSPECT_STALLS,
      lane,
    });
    interactive.start();
    return new ModelLane(model, metrics, engine, processor, chunks, interactive, budget, peekQueue);
  }

  /** Its engine's up state and counters into its metrics (a restarting engine keeps the last). */
  async refreshMetrics(timeoutMs: number): Promise<void> {
    const up = this.engine.health().state === 'ready';
    this.metrics.engineUp(up);
    if (up) this.metrics.engineStats(await this.engine.stats(timeoutMs));
  }

  /**
   * Stops taking work and drains running rows for up to `drainMs`; then hands the rest back to
   * the queue. The engine is left running for the caller to close once results are flushed.
   */
  async drain(drainMs: number, log: Logger): Promise<void> {
    const interactiveDrained = this.interactive.stop(drainMs);
    await this.chunks.close({
      drainMs,
      onTimeout: () => {
        log.warn(
          { model: this.model.name },
          'drain timed out: handing unfinished chunks back to the queue',
        );
        this.processor.handBackAll();
      },
    });
    this.budget.stop();
    await interactiveDrained;
  }

  async close(): Promise<void> {
    await this.peekQueue.closeAll();
    await this.engine.close().catch(() => undefined);
  }
}
